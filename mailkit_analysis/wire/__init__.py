"""Mailkit's two wire formats: JSON (``json.fcgi``) and XML-RPC (``rpc.fcgi``).

Each codec encodes a call and decodes an answer into plain Python values, turning Mailkit's
in-band error answers into typed exceptions. Neither knows about HTTP or pandas.
"""
from .common import api_error_for, body_excerpt
from .json_codec import decode_json_answer, encode_json_call
from .xmlrpc_codec import decode_xmlrpc_answer, encode_xmlrpc_call

__all__ = [
    "api_error_for",
    "body_excerpt",
    "decode_json_answer",
    "encode_json_call",
    "decode_xmlrpc_answer",
    "encode_xmlrpc_call",
]
