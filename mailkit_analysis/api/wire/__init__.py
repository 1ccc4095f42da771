"""Mailkit's two wire formats: JSON (``json.fcgi``) and XML-RPC (``rpc.fcgi``).

Each codec encodes a call and decodes an answer into plain Python values, turning Mailkit's
in-band error answers into typed exceptions. Neither knows about HTTP or pandas.
:func:`decode_xmlrpc_results` decodes large ``results`` answers column by column
(:mod:`.xmlrpc_columns`), with the same errors as :func:`decode_xmlrpc_answer`.
"""
from .common import api_error_for, body_excerpt
from .json_codec import decode_json_answer, decode_json_results, encode_json_call
from .xmlrpc_codec import decode_xmlrpc_answer, encode_xmlrpc_call
from .xmlrpc_columns import decode_xmlrpc_results

__all__ = [
    "api_error_for",
    "body_excerpt",
    "decode_json_answer",
    "decode_json_results",
    "encode_json_call",
    "decode_xmlrpc_answer",
    "decode_xmlrpc_results",
    "encode_xmlrpc_call",
]
