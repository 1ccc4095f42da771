"""Static vocabulary of the simulated account: campaigns and error texts.

Everything here is plain data. The account model (:mod:`.model`) decides
*which* of these appear and how often; this module only says what they are
called, so that the realism of the wording can be reviewed in one place.
"""

from __future__ import annotations

from typing import NamedTuple


class CampaignTemplate(NamedTuple):
    """One campaign the simulated account owns.

    Attributes
    ----------
    name : str
        Internal campaign name, as shown by ``mailkit.campaigns.list``.
    subject : str
        Subject line of the e-mails the campaign sends.
    type : str
        ``"transactional"`` (sent one request at a time through
        ``mailkit.sendmail_mass``) or ``"regular"`` (newsletters).
    popularity : float
        Relative share of ``sendmail_mass`` requests that use the campaign.
    median_recipients : int
        Typical number of recipients of one request.
    attachment : bool
        The e-mails carry an attachment fetched from a URL (an invoice, a ticket): an outage
        of the attachment server fails the campaign's sends with code 1.
    """

    name: str
    subject: str
    type: str
    popularity: float
    median_recipients: int
    attachment: bool = False


TRANSACTIONAL = "transactional"
REGULAR = "regular"

#: The account's campaigns. Popularity is skewed like a real e-shop: order
#: confirmations and password resets dominate, contracts and vouchers are rare.
CAMPAIGNS: tuple[CampaignTemplate, ...] = (
    CampaignTemplate("Potvrzení objednávky", "Potvrzení vaší objednávky", TRANSACTIONAL, 14.0, 180),
    CampaignTemplate("Obnovení hesla", "Obnovení hesla k vašemu účtu", TRANSACTIONAL, 8.0, 60),
    CampaignTemplate("Faktura za služby", "Faktura za služby", TRANSACTIONAL, 7.0, 250, attachment=True),
    CampaignTemplate("Registrace – ověření e-mailu", "Ověřte prosím svou e-mailovou adresu", TRANSACTIONAL, 6.0, 90),
    CampaignTemplate("Uvítací e-mail", "Vítejte v našem obchodě!", TRANSACTIONAL, 5.0, 90),
    CampaignTemplate("Odeslání zásilky", "Vaše zásilka je na cestě", TRANSACTIONAL, 9.0, 200),
    CampaignTemplate("Doručení zásilky", "Zásilka byla doručena", TRANSACTIONAL, 6.0, 200),
    CampaignTemplate("Zrušení objednávky", "Objednávka byla zrušena", TRANSACTIONAL, 1.5, 40),
    CampaignTemplate("Připomenutí platby", "Připomínáme splatnost faktury", TRANSACTIONAL, 3.0, 150),
    CampaignTemplate("Upomínka po splatnosti", "Upomínka: faktura po splatnosti", TRANSACTIONAL, 1.5, 80, attachment=True),
    CampaignTemplate("Potvrzení platby", "Platba byla přijata", TRANSACTIONAL, 5.0, 160),
    CampaignTemplate("Dobropis", "Dobropis k vaší objednávce", TRANSACTIONAL, 0.8, 30, attachment=True),
    CampaignTemplate("Opuštěný košík", "Zapomněli jste něco v košíku?", TRANSACTIONAL, 4.0, 300),
    CampaignTemplate("Hodnocení nákupu", "Jak jste byli spokojeni s nákupem?", TRANSACTIONAL, 3.0, 250),
    CampaignTemplate("Rezervace termínu", "Potvrzení rezervace termínu", TRANSACTIONAL, 2.0, 50),
    CampaignTemplate("Připomenutí termínu", "Připomínka: zítra máte rezervovaný termín", TRANSACTIONAL, 2.0, 50),
    CampaignTemplate("Změna e-mailové adresy", "Potvrzení změny e-mailu", TRANSACTIONAL, 0.8, 25),
    CampaignTemplate("Dvoufázové ověření – kód", "Váš ověřovací kód", TRANSACTIONAL, 3.0, 70),
    CampaignTemplate("Vrácení zboží", "Potvrzení vrácení zboží", TRANSACTIONAL, 1.2, 35),
    CampaignTemplate("Reklamace – přijetí", "Reklamace byla přijata", TRANSACTIONAL, 1.0, 30),
    CampaignTemplate("Reklamace – vyřízení", "Reklamace byla vyřízena", TRANSACTIONAL, 0.9, 30),
    CampaignTemplate("Věrnostní body – výpis", "Stav vašich věrnostních bodů", TRANSACTIONAL, 1.0, 1200),
    CampaignTemplate("Narozeninová sleva", "Všechno nejlepší! Máme pro vás dárek", TRANSACTIONAL, 1.5, 120),
    CampaignTemplate("Vyzvednutí na pobočce", "Objednávka je připravena k vyzvednutí", TRANSACTIONAL, 2.5, 90),
    CampaignTemplate("Elektronická vstupenka", "Vaše vstupenky", TRANSACTIONAL, 1.0, 120, attachment=True),
    CampaignTemplate("Prodloužení předplatného", "Vaše předplatné brzy vyprší", TRANSACTIONAL, 1.0, 400),
    CampaignTemplate("Smlouva k podpisu", "Smlouva k elektronickému podpisu", TRANSACTIONAL, 0.4, 25, attachment=True),
    CampaignTemplate("Změna obchodních podmínek", "Informace o změně obchodních podmínek", TRANSACTIONAL, 0.3, 3000),
    CampaignTemplate("Potvrzení odhlášení", "Byli jste odhlášeni z odběru", TRANSACTIONAL, 0.8, 40),
    CampaignTemplate("Dárkový poukaz", "Váš dárkový poukaz", TRANSACTIONAL, 0.6, 30, attachment=True),
    CampaignTemplate("Newsletter – Září", "Novinky na září", REGULAR, 0.3, 2500),
    CampaignTemplate("Newsletter – Říjen", "Podzimní novinky", REGULAR, 0.3, 2500),
    CampaignTemplate("Newsletter – Listopad", "Listopadové tipy a slevy", REGULAR, 0.3, 2500),
    CampaignTemplate("Newsletter – Prosinec", "Vánoční tipy na dárky", REGULAR, 0.3, 2500),
    CampaignTemplate("Black Friday – akce", "Black Friday: slevy až 50 %", REGULAR, 0.3, 3500),
    CampaignTemplate("Vánoční nabídka", "Dárky, které potěší", REGULAR, 0.2, 3000),
    CampaignTemplate("Novoroční výprodej", "Novoroční výprodej začíná", REGULAR, 0.2, 3000),
    CampaignTemplate("Jarní kolekce", "Přivítejte jaro s novou kolekcí", REGULAR, 0.2, 2000),
    CampaignTemplate("Průzkum spokojenosti", "Pomozte nám být lepší", REGULAR, 0.2, 1500),
    CampaignTemplate("Webinář – pozvánka", "Pozvánka na webinář", REGULAR, 0.2, 800),
)

#: Codes that fail every recipient of a request (campaign or request set-up).
SETUP_CODES: tuple[int, ...] = (1, 4, 5, 7, 8)

#: A code Mailkit does not document (yet). Analysis must keep it as "unknown".
UNKNOWN_CODE = 9

#: ``INFO`` texts per error code; a request picks one variant for all its rows.
#: Mailkit mixes Czech sentences with terse English developer strings, so do we.
INFO_TEXTS: dict[int, tuple[str, ...]] = {
    1: ("url return null", "příloha nenalezena", "nejedná se o transakční kampaň"),
    2: ("neplatný formát e-mailové adresy",),
    3: ("chybí e-mailová adresa",),
    4: ("missing mailinglist_id", "neplatné mailinglist_id"),
    5: ("neplatné id_message",),
    6: ("příjemce je odhlášen",),
    7: ("kampaň nemá nastavenou odesílací adresu",),
    8: ("neplatný soubor šablony",),
    9: ("adresa je na seznamu blokovaných adres",),
    # Not in the catalogue either: what a code Mailkit adds one day might say.
    11: ("doména příjemce dočasně odmítá poštu",),
}
