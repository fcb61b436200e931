"""The assistant's sentence templates, one set per language it speaks.

Names of departments and desks are written in the KB with their article when the
language wants one ("le service de l'état civil", "das Bürgeramt"). The templates never
need to inflect them: French and Dutch names only follow prepositions without contraction
("avec", "pour", "par", "met", "voor", never "à" or "de"), and German names only appear in
the nominative (as subject, or after a colon), since German articles change with case.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Texts:
    """The templates of one language."""

    greeting: str  # {city}: welcome, how to ask, and the operator's key, all in ~5 s
    language_offer: str  # {languages}: the other languages, each named in its own language
    language_switched: str
    language_unavailable: str  # {languages}
    language_names: dict[str, str]
    or_: str
    how_can_i_help: str
    anything_else: str
    listening: str
    rephrase: str
    rephrase_low_confidence: str
    clarify: str  # {a} {b}
    faq_option: str  # {title}
    yes_no_repeat: str
    menu_intro: str
    menu_item: str  # {name} {digit}
    menu_operator: str  # {name} {digit}
    menu_back: str
    menu_other: str
    keypad_yes_no: str
    offer_details: str
    no_speech: str
    silence: str
    silence_goodbye: str
    goodbye: str
    call_later: str
    callback_recorded: str
    max_duration: str
    holiday_today: str
    exception_closed: str
    exception_hours: str  # {ranges}
    transfer: str  # {name}
    transfer_failed: str  # {name}: the operator desk, which the dialplan dials instead
    closed: str  # {name}
    closed_schedule: str  # {schedule}
    offer_faq: str  # {title}
    offer_operator: str  # {name}
    offer_callback: str  # {name}


TEXTS: dict[str, Texts] = {
    "fr": Texts(
        greeting="Bonjour, commune de {city}. Dites votre demande, ou tapez zéro pour l'accueil.",
        language_offer="{languages} ?",
        language_switched="Très bien, je continue en français.",
        language_unavailable="Je suis désolé, je ne peux vous répondre qu'en {languages}.",
        language_names={"fr": "français", "nl": "néerlandais", "en": "anglais", "de": "allemand"},
        or_="ou",
        how_can_i_help="Que puis-je faire pour vous ?",
        anything_else="Puis-je vous aider pour autre chose ?",
        listening="Je vous écoute.",
        rephrase=(
            "Excusez-moi, je n'ai pas bien compris. "
            "Pouvez-vous reformuler votre demande en quelques mots ?"
        ),
        rephrase_low_confidence=(
            "Excusez-moi, je vous entends mal. Pouvez-vous répéter, un peu plus lentement ?"
        ),
        clarify="Votre demande concerne-t-elle {a}, ou plutôt {b} ?",
        faq_option="la question : {title}",
        yes_no_repeat="Excusez-moi, répondez simplement par oui ou par non.",
        menu_intro="Vous pouvez aussi choisir avec le clavier de votre téléphone.",
        menu_item="Pour {name}, tapez {digit}.",
        menu_operator="Pour parler avec {name}, tapez {digit}.",
        menu_back="Pour revenir au premier menu, tapez étoile.",
        menu_other="les autres services",
        keypad_yes_no="Tapez 1 pour oui, 2 pour non.",
        offer_details="Voulez-vous plus de détails ?",
        no_speech="Je ne vous entends pas.",
        silence="Je ne vous entends pas. Êtes-vous toujours en ligne ?",
        silence_goodbye=(
            "Je n'entends toujours rien, je vais raccrocher. Merci de votre appel, au revoir."
        ),
        goodbye="Merci de votre appel. Au revoir, et bonne journée !",
        call_later="Veuillez réessayer un peu plus tard.",
        callback_recorded=("C'est noté : vous serez rappelé au numéro depuis lequel vous appelez."),
        max_duration="Notre conversation dure depuis un moment déjà.",
        holiday_today="Aujourd'hui est un jour férié.",
        exception_closed="Aujourd'hui, exceptionnellement, le service est fermé.",
        exception_hours="Aujourd'hui, exceptionnellement, le service est ouvert {ranges}.",
        transfer="Je vous mets en relation avec {name}. Restez en ligne, s'il vous plaît.",
        transfer_failed=(
            "Excusez-moi, ce transfert n'a pas pu se faire. Je vous mets en relation avec {name}."
        ),
        closed=(
            "Je ne peux pas vous mettre en relation avec {name} pour le moment : "
            "le service est fermé."
        ),
        closed_schedule="Il est ouvert {schedule}.",
        offer_faq=(
            "Je peux néanmoins vous renseigner sur la question suivante : {title}. "
            "Voulez-vous entendre la réponse ?"
        ),
        offer_operator="Voulez-vous que je vous passe {name} ?",
        offer_callback="Souhaitez-vous être rappelé par {name} pendant les heures d'ouverture ?",
    ),
    "nl": Texts(
        greeting="Goeiedag, gemeente {city}. Zeg uw vraag, of toets nul voor het onthaal.",
        language_offer="{languages}?",
        language_switched="Prima, ik ga verder in het Nederlands.",
        language_unavailable="Het spijt me, ik kan alleen antwoorden in het {languages}.",
        language_names={"fr": "Frans", "nl": "Nederlands", "en": "Engels", "de": "Duits"},
        or_="of",
        how_can_i_help="Waarmee kan ik u helpen?",
        anything_else="Kan ik u nog ergens anders mee helpen?",
        listening="Ik luister.",
        rephrase=(
            "Sorry, ik heb u niet goed begrepen. Kunt u uw vraag in een paar woorden herhalen?"
        ),
        rephrase_low_confidence="Sorry, ik versta u niet goed. Kunt u dat wat trager herhalen?",
        clarify="Gaat uw vraag over {a}, of eerder over {b}?",
        faq_option="de vraag: {title}",
        yes_no_repeat="Sorry, antwoord gewoon met ja of nee.",
        menu_intro="U kunt ook kiezen met de toetsen van uw telefoon.",
        menu_item="Voor {name}, toets {digit}.",
        menu_operator="Om {name} te spreken, toets {digit}.",
        menu_back="Om terug te gaan naar het eerste menu, toets sterretje.",
        menu_other="de andere diensten",
        keypad_yes_no="Toets 1 voor ja, 2 voor nee.",
        offer_details="Wilt u meer details?",
        no_speech="Ik hoor u niet.",
        silence="Ik hoor u niet. Bent u er nog?",
        silence_goodbye=(
            "Ik hoor nog steeds niets, dus ik hang op. Bedankt voor uw oproep, tot ziens."
        ),
        goodbye="Bedankt voor uw oproep. Tot ziens, en nog een fijne dag!",
        call_later="Probeer het later nog eens.",
        callback_recorded="Genoteerd: u wordt teruggebeld op het nummer waarmee u nu belt.",
        max_duration="Ons gesprek duurt al een hele tijd.",
        holiday_today="Vandaag is een feestdag.",
        exception_closed="Vandaag is de dienst uitzonderlijk gesloten.",
        exception_hours="Vandaag is de dienst uitzonderlijk open {ranges}.",
        transfer="Ik verbind u door met {name}. Blijf aan de lijn, alstublieft.",
        transfer_failed="Excuseer, dat doorverbinden is niet gelukt. Ik verbind u door met {name}.",
        closed="Ik kan u nu niet doorverbinden met {name}, want de dienst is gesloten.",
        closed_schedule="De openingsuren zijn {schedule}.",
        offer_faq=(
            "Ik kan u wel informatie geven over deze vraag: {title}. Wilt u het antwoord horen?"
        ),
        offer_operator="Wilt u dat ik u doorverbind met {name}?",
        offer_callback="Wilt u dat {name} u tijdens de openingsuren terugbelt?",
    ),
    "en": Texts(
        greeting="Hello, {city} town hall. Say your request, or press zero for reception.",
        language_offer="{languages}?",
        language_switched="All right, I will continue in English.",
        language_unavailable="I am sorry, I can only answer in {languages}.",
        language_names={"fr": "French", "nl": "Dutch", "en": "English", "de": "German"},
        or_="or",
        how_can_i_help="How can I help you?",
        anything_else="Can I help you with anything else?",
        listening="I am listening.",
        rephrase="Sorry, I did not quite understand. Could you say it again in a few words?",
        rephrase_low_confidence=(
            "Sorry, I cannot hear you well. Could you repeat that a little more slowly?"
        ),
        clarify="Is your request about {a}, or rather {b}?",
        faq_option="the question: {title}",
        yes_no_repeat="Sorry, please just answer yes or no.",
        menu_intro="You can also choose with your phone's keypad.",
        menu_item="For {name}, press {digit}.",
        menu_operator="To speak to {name}, press {digit}.",
        menu_back="To go back to the first menu, press star.",
        menu_other="the other departments",
        keypad_yes_no="Press 1 for yes, 2 for no.",
        offer_details="Would you like more details?",
        no_speech="I cannot hear you.",
        silence="I cannot hear you. Are you still there?",
        silence_goodbye=(
            "I still cannot hear anything, so I will hang up. Thank you for calling, goodbye."
        ),
        goodbye="Thank you for calling. Goodbye, and have a nice day!",
        call_later="Please try again a little later.",
        callback_recorded="Done: you will be called back on the number you are calling from.",
        max_duration="We have been talking for quite a while.",
        holiday_today="Today is a public holiday.",
        exception_closed="Today, exceptionally, it is closed.",
        exception_hours="Today, exceptionally, it is open {ranges}.",
        transfer="I am putting you through to {name}. Please stay on the line.",
        transfer_failed="Sorry, that transfer did not work. I am putting you through to {name}.",
        closed="I cannot put you through to {name} right now, because it is closed.",
        closed_schedule="It is open {schedule}.",
        offer_faq=(
            "I can still help with this question: {title}. Would you like to hear the answer?"
        ),
        offer_operator="Would you like me to put you through to {name}?",
        offer_callback="Would you like {name} to call you back during opening hours?",
    ),
    "de": Texts(
        greeting="Guten Tag, Gemeinde {city}. Ihr Anliegen bitte, oder die Null für den Empfang.",
        language_offer="{languages}?",
        language_switched="Gut, ich spreche jetzt Deutsch mit Ihnen.",
        language_unavailable="Es tut mir leid, ich kann nur auf {languages} antworten.",
        language_names={
            "fr": "Französisch",
            "nl": "Niederländisch",
            "en": "Englisch",
            "de": "Deutsch",
        },
        or_="oder",
        how_can_i_help="Wie kann ich Ihnen helfen?",
        anything_else="Kann ich Ihnen sonst noch helfen?",
        listening="Ich höre Ihnen zu.",
        rephrase=(
            "Entschuldigung, das habe ich nicht verstanden. "
            "Können Sie Ihr Anliegen in wenigen Worten wiederholen?"
        ),
        rephrase_low_confidence=(
            "Entschuldigung, ich verstehe Sie schlecht. "
            "Können Sie das bitte etwas langsamer wiederholen?"
        ),
        clarify="Was meinen Sie: {a}, oder eher {b}?",
        faq_option="die Frage: {title}",
        yes_no_repeat="Entschuldigung, antworten Sie bitte einfach mit Ja oder Nein.",
        menu_intro="Sie können auch mit der Tastatur Ihres Telefons wählen.",
        menu_item="{name}: Taste {digit}.",
        menu_operator="{name}: Taste {digit}.",
        menu_back="Zurück zum ersten Menü: Sterntaste.",
        menu_other="andere Dienste",
        keypad_yes_no="Ja: Taste 1, nein: Taste 2.",
        offer_details="Möchten Sie mehr Einzelheiten?",
        no_speech="Ich höre Sie nicht.",
        silence="Ich höre Sie nicht. Sind Sie noch da?",
        silence_goodbye=(
            "Ich höre leider immer noch nichts und lege jetzt auf. "
            "Danke für Ihren Anruf, auf Wiederhören."
        ),
        goodbye="Vielen Dank für Ihren Anruf. Auf Wiederhören und einen schönen Tag noch!",
        call_later="Bitte versuchen Sie es später noch einmal.",
        callback_recorded=(
            "Notiert: Sie werden unter der Nummer zurückgerufen, von der Sie gerade anrufen."
        ),
        max_duration="Unser Gespräch dauert schon eine Weile.",
        holiday_today="Heute ist ein Feiertag.",
        exception_closed="Heute ist ausnahmsweise geschlossen.",
        exception_hours="Heute ist ausnahmsweise {ranges} geöffnet.",
        transfer="Ich verbinde Sie weiter, zuständig ist {name}. Bitte bleiben Sie am Apparat.",
        transfer_failed=(
            "Entschuldigung, diese Weiterleitung hat nicht geklappt. "
            "Ich verbinde Sie weiter, zuständig ist {name}."
        ),
        closed="Leider ist {name} gerade geschlossen.",
        closed_schedule="Die Öffnungszeiten sind {schedule}.",
        offer_faq=(
            "Ich kann Ihnen aber Auskunft zu dieser Frage geben: {title}. "
            "Möchten Sie die Antwort hören?"
        ),
        offer_operator="Möchten Sie, dass {name} Ihren Anruf übernimmt?",
        offer_callback="Möchten Sie, dass {name} Sie während der Öffnungszeiten zurückruft?",
    ),
}
