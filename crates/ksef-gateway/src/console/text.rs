//! The console's two languages, and the readable fix for each way an invoice can fail.

use chrono::{DateTime, Utc};
use ksef_store::DeliveryState;

/// Polish or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Polski.
    Pl,
    /// English.
    En,
}

impl Lang {
    /// The choice a cookie or `Accept-Language` makes (Polish unless English is preferred).
    pub fn pick(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        match cookie {
            Some("en") => return Lang::En,
            Some("pl") => return Lang::Pl,
            _ => {}
        }
        let first = accept_language.unwrap_or("").split(',').next().unwrap_or("").trim().to_ascii_lowercase();
        if first.starts_with("en") { Lang::En } else { Lang::Pl }
    }

    /// `pl` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Pl => "pl",
            Lang::En => "en",
        }
    }

    /// The other language.
    pub fn other(self) -> Lang {
        match self {
            Lang::Pl => Lang::En,
            Lang::En => Lang::Pl,
        }
    }

    /// `en` in English, `pl` in Polish.
    pub fn t(self, en: &'static str, pl: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Pl => pl,
        }
    }

    /// A state's name.
    pub fn state(self, state: DeliveryState) -> &'static str {
        match state {
            DeliveryState::Queued => self.t("waiting", "oczekuje"),
            DeliveryState::Sending => self.t("sending", "wysyłana"),
            DeliveryState::Sent => self.t("in KSeF, processing", "w KSeF, przetwarzana"),
            DeliveryState::Accepted => self.t("accepted", "przyjęta"),
            DeliveryState::Rejected => self.t("rejected", "odrzucona"),
            DeliveryState::Duplicate => self.t("duplicate", "duplikat"),
        }
    }

    /// An instant, in Poland's time.
    pub fn time(self, t: DateTime<Utc>) -> String {
        ksef_client::wire::datetime::to_warsaw(t).format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// Every state, in the order lists show them.
pub const STATES: [DeliveryState; 6] =
    [DeliveryState::Rejected, DeliveryState::Queued, DeliveryState::Sending, DeliveryState::Sent, DeliveryState::Accepted, DeliveryState::Duplicate];

/// What to do about an invoice in `state` whose KSeF status code is `code` (0: KSeF has given none).
pub fn fix(lang: Lang, state: DeliveryState, code: i64) -> Option<&'static str> {
    Some(match (state, code) {
        (DeliveryState::Rejected | DeliveryState::Sent, 450) => lang.t(
            "KSeF found the invoice's content invalid: the details say which field and rule. Correct the invoice in the system that issued it and send the corrected invoice; drop the file on the Validate page first to see every problem at once.",
            "KSeF uznało treść faktury za błędną: szczegóły wskazują pole i regułę. Popraw fakturę w systemie, który ją wystawił, i wyślij poprawioną; najpierw upuść plik na stronie Walidacja, aby zobaczyć wszystkie błędy naraz.",
        ),
        (_, 440) => lang.t(
            "KSeF already holds an invoice with this seller, kind and number: the original's KSeF number is shown. Nothing to send again; if this is a different invoice, give it a new number.",
            "KSeF ma już fakturę z tym sprzedawcą, rodzajem i numerem: pokazano numer KSeF oryginału. Nie trzeba nic wysyłać ponownie; jeśli to inna faktura, nadaj jej nowy numer.",
        ),
        (DeliveryState::Rejected, 430) => lang.t(
            "KSeF could not read the file as an invoice of the session's schema (FA(2) or FA(3)). Check the schema version the session was opened with and the file's form code.",
            "KSeF nie odczytało pliku jako faktury w schemacie sesji (FA(2) lub FA(3)). Sprawdź wersję schematu, z którą otwarto sesję, i kod formularza w pliku.",
        ),
        (DeliveryState::Rejected, 435) => lang.t(
            "KSeF could not decrypt the invoice: it was encrypted with a key other than the session's. Encrypt with the key the session was opened with, or let the gateway hold the key.",
            "KSeF nie odszyfrowało faktury: zaszyfrowano ją innym kluczem niż klucz sesji. Szyfruj kluczem, z którym otwarto sesję, albo pozwól bramce trzymać klucz.",
        ),
        (DeliveryState::Rejected, 415) => lang.t(
            "KSeF takes invoices with attachments only from contexts that registered for them in the e-Tax Office (e-Urząd Skarbowy). Register, or send the invoice without the attachment.",
            "KSeF przyjmuje faktury z załącznikiem tylko od kontekstów zgłoszonych w e-Urzędzie Skarbowym. Zgłoś kontekst albo wyślij fakturę bez załącznika.",
        ),
        (DeliveryState::Rejected, 410) => lang.t(
            "The credential the tenant logs in with may not issue invoices for this seller. Grant the permission in KSeF, or set a credential that has it (Tenants page).",
            "Poświadczenie, którym loguje się podmiot, nie uprawnia do wystawiania faktur tego sprzedawcy. Nadaj uprawnienie w KSeF albo ustaw poświadczenie, które je ma (strona Podmioty).",
        ),
        (DeliveryState::Rejected, 500) => lang.t(
            "KSeF failed while processing the invoice. Send it again later; if it keeps failing, report the KSeF reference number to the Ministry's support.",
            "KSeF zawiodło przy przetwarzaniu faktury. Wyślij ją ponownie później; jeśli błąd się powtarza, zgłoś numer referencyjny KSeF do wsparcia Ministerstwa.",
        ),
        (DeliveryState::Rejected, _) => lang.t(
            "KSeF refused the request carrying the invoice; its reason is above. Correct what it names and send the invoice again.",
            "KSeF odrzuciło żądanie z fakturą; powód jest powyżej. Popraw to, co wskazuje, i wyślij fakturę ponownie.",
        ),
        (DeliveryState::Queued | DeliveryState::Sending, _) => lang.t(
            "Nothing to do: the gateway keeps delivering it, through KSeF's outages and rate limits, and never sends it twice. If it waits for long, check KSeF's reachability and the tenant's credential.",
            "Nic nie trzeba robić: bramka dostarcza ją dalej, mimo przerw i limitów KSeF, i nigdy nie wysyła dwa razy. Jeśli czeka długo, sprawdź dostępność KSeF i poświadczenie podmiotu.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_is_the_default_and_english_is_chosen_when_preferred() {
        assert_eq!(Lang::pick(None, None), Lang::Pl);
        assert_eq!(Lang::pick(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::pick(Some("pl"), Some("en-GB")), Lang::Pl);
        assert_eq!(Lang::pick(Some("en"), Some("pl")), Lang::En);
    }

    #[test]
    fn every_rejection_has_a_fix_in_both_languages() {
        for code in [0, 410, 415, 430, 435, 440, 450, 500] {
            for lang in [Lang::Pl, Lang::En] {
                assert!(fix(lang, DeliveryState::Rejected, code).is_some_and(|f| f.len() > 40), "{code} {lang:?}");
            }
        }
        assert_eq!(fix(Lang::En, DeliveryState::Accepted, 200), None);
    }
}
