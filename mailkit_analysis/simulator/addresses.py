"""Deterministic synthesis of Czech recipient addresses, good and broken.

An address is a pure function of ``(seed, kind, index)``: hashing instead of
drawing from a random generator lets the account name recipient number 4711
without generating the 4710 before it, and makes the same person reappear with
the same address (and the same ``ID_EMAIL``) in every request that reaches
them, as a real customer base would.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import zlib

FEMALE_FIRST_NAMES = (
    "jana", "eva", "hana", "anna", "lenka", "marie", "lucie", "petra", "katerina", "veronika",
    "tereza", "martina", "michaela", "jitka", "alena", "zuzana", "monika", "barbora", "kristyna",
    "simona",
)
MALE_FIRST_NAMES = (
    "jan", "petr", "josef", "pavel", "martin", "tomas", "jaroslav", "jiri", "miroslav", "frantisek",
    "zdenek", "michal", "lukas", "jakub", "david", "ondrej", "vojtech", "karel", "milan", "roman",
)
#: (male, female) forms: Czech surnames take a feminine ending.
SURNAMES = (
    ("novak", "novakova"), ("svoboda", "svobodova"), ("novotny", "novotna"),
    ("dvorak", "dvorakova"), ("cerny", "cerna"), ("prochazka", "prochazkova"),
    ("kucera", "kucerova"), ("vesely", "vesela"), ("horak", "horakova"), ("nemec", "nemcova"),
    ("marek", "markova"), ("pospisil", "pospisilova"), ("pokorny", "pokorna"),
    ("hajek", "hajkova"), ("kral", "kralova"), ("jelinek", "jelinkova"),
    ("ruzicka", "ruzickova"), ("benes", "benesova"), ("fiala", "fialova"),
    ("sedlacek", "sedlackova"), ("dolezal", "dolezalova"), ("zeman", "zemanova"),
    ("kolar", "kolarova"), ("navratil", "navratilova"), ("cermak", "cermakova"),
    ("urban", "urbanova"), ("vanek", "vankova"), ("blazek", "blazkova"), ("kriz", "krizova"),
    ("kovar", "kovarova"),
)
#: Local parts typed with diacritics, which Mailkit rejects as an invalid format.
DIACRITIC_LOCAL_PARTS = (
    "jana.nováková", "petr.dvořák", "jiří.černý", "kateřina.procházková", "tomáš.kučera",
    "lukáš.růžička", "eva.králová", "františek.jelínek", "zdeněk.beneš", "alena.němcová",
)

#: Mailbox providers of a Czech customer base with their share in per mille.
DOMAINS = (
    ("seznam.cz", 330), ("gmail.com", 250), ("email.cz", 100), ("centrum.cz", 70),
    ("post.cz", 40), ("volny.cz", 35), ("outlook.com", 30), ("atlas.cz", 25),
    ("icloud.com", 20), ("firma.cz", 20), ("hotmail.com", 15), ("tiscali.cz", 10),
    ("yahoo.com", 10), ("o2active.cz", 10), ("quick.cz", 5),
)
#: Misspelled provider domains, weighted like the typos people actually make.
TYPO_DOMAINS = (
    ("gmial.com", 22), ("seznam.cy", 18), ("seznan.cz", 14), ("gmai.com", 12),
    ("emial.cz", 8), ("centrum.cy", 7), ("gmail.con", 7), ("sezanm.cz", 5),
    ("email.cy", 4), ("seznam.c", 3),
)

#: Ways a typed address is malformed (the ``typo`` style is syntactically valid).
MALFORMED_STYLES = (
    "double_at", "no_tld", "no_at", "space", "comma", "double_dot", "trailing_dot",
    "diacritics", "two_addresses", "angle_brackets",
)


def _cumulative(weighted: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    names = [name for name, _ in weighted]
    bounds = list(itertools.accumulate(weight for _, weight in weighted))
    return names, bounds


_DOMAIN_NAMES, _DOMAIN_BOUNDS = _cumulative(DOMAINS)
_TYPO_NAMES, _TYPO_BOUNDS = _cumulative(TYPO_DOMAINS)


def _pick_weighted(names: list[str], bounds: list[int], value: int) -> str:
    return names[bisect.bisect_right(bounds, value % bounds[-1])]


class AddressBook:
    """Addresses of one simulated account's recipients.

    Parameters
    ----------
    seed : int
        Account seed; different seeds give different people.

    Examples
    --------
    >>> book = AddressBook(seed=0)
    >>> book.good(1) == book.good(1)
    True
    """

    def __init__(self, seed: int) -> None:
        self._seed = int(seed)

    def _digest(self, kind: str, index: int) -> bytes:
        return hashlib.blake2b(f"{self._seed}:{kind}:{index}".encode(), digest_size=24).digest()

    @staticmethod
    def _local_part(digest: bytes) -> str:
        female = digest[0] % 2 == 0
        first = (FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)[digest[1] % 20]
        last = SURNAMES[int.from_bytes(digest[2:4], "big") % len(SURNAMES)][1 if female else 0]
        year = 60 + digest[4] % 45  # birth years 1960-2004, as people put them in addresses
        pattern = digest[5] % 20
        if pattern < 8:
            return f"{first}.{last}"
        if pattern < 11:
            return f"{first}.{last}{year % 100:02d}"
        if pattern < 13:
            return f"{first}{last}"
        if pattern < 15:
            return f"{first[0]}.{last}"
        if pattern < 17:
            return f"{last}.{first}"
        if pattern < 19:
            return f"{last}{digest[6] % 100 + 1}"
        return f"{first}_{last}"

    def good(self, index: int) -> str:
        """Return the valid address of person ``index``.

        Parameters
        ----------
        index : int
            Person number within the account's customer base.

        Returns
        -------
        str
            For example ``"jana.novakova@seznam.cz"``.
        """
        digest = self._digest("person", index)
        domain = _pick_weighted(_DOMAIN_NAMES, _DOMAIN_BOUNDS, int.from_bytes(digest[8:10], "big"))
        return f"{self._local_part(digest)}@{domain}"

    def typo(self, index: int, kind: str = "typo") -> str:
        """Return a well-formed address whose provider domain is misspelled.

        Parameters
        ----------
        index : int
            Number of the broken record.
        kind : str, default "typo"
            Name space for ``index``, so that separate incidents get separate people.

        Returns
        -------
        str
            For example ``"eva.kralova@seznam.cy"``.
        """
        digest = self._digest(kind, index)
        domain = _pick_weighted(_TYPO_NAMES, _TYPO_BOUNDS, int.from_bytes(digest[10:12], "big"))
        return f"{self._local_part(digest)}@{domain}"

    def malformed(self, index: int, kind: str = "malformed") -> str:
        """Return a syntactically invalid address, as typed into a bad form or list.

        Parameters
        ----------
        index : int
            Number of the broken record.
        kind : str, default "malformed"
            Name space for ``index``.

        Returns
        -------
        str
            For example ``"petr.svoboda@@email.cz"`` or ``"martin.dvorak@gmial"``.
        """
        digest = self._digest(kind, index)
        local = self._local_part(digest)
        # A third of malformed addresses also carry a typo domain: people who
        # mistype one part of an address tend to mistype another.
        if digest[12] % 3 == 0:
            domain = _pick_weighted(_TYPO_NAMES, _TYPO_BOUNDS, int.from_bytes(digest[10:12], "big"))
        else:
            domain = _pick_weighted(_DOMAIN_NAMES, _DOMAIN_BOUNDS, int.from_bytes(digest[8:10], "big"))
        style = MALFORMED_STYLES[digest[13] % len(MALFORMED_STYLES)]
        if style == "double_at":
            return f"{local}@@{domain}"
        if style == "no_tld":
            return f"{local}@{domain.rsplit('.', 1)[0]}"
        if style == "no_at":
            return f"{local}{domain}"
        if style == "space":
            spaced = local.replace(".", " ", 1) if "." in local else f"{local} "
            return f"{spaced}@{domain}"
        if style == "comma":
            return f"{local}@{domain.replace('.', ',')}"
        if style == "double_dot":
            return f"{local}@{domain.replace('.', '..')}"
        if style == "trailing_dot":
            return f"{local}@{domain}."
        if style == "diacritics":
            return f"{DIACRITIC_LOCAL_PARTS[digest[14] % len(DIACRITIC_LOCAL_PARTS)]}@{domain}"
        if style == "two_addresses":
            return f"{local}@{domain}; {self.good(int.from_bytes(digest[15:18], 'big'))}"
        return f"<{local}@{domain}>"

    def email_id(self, address: str) -> int:
        """Return the account's ``ID_EMAIL`` for a stored address.

        Parameters
        ----------
        address : str
            The address as stored in Mailkit.

        Returns
        -------
        int
            A stable positive id below 2**31 (so it travels as XML-RPC ``<i4>``).
        """
        return 1_000_000 + zlib.crc32(f"{self._seed}:{address}".encode()) % 900_000_000
