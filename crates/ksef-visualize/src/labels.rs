//! The one label catalogue every renderer uses: Polish (the official wording) and English for section headings,
//! every readable FA field name, and the FA code lists read out in words. Data values are never translated.

use std::borrow::Cow;

pub use crate::countries::country;

/// The language of a visualization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Polish.
    Pl,
    /// English.
    En,
    /// Polish with English beside it, smaller.
    PlEn,
}

impl Language {
    /// Parses `pl`, `en`, `pl_en`.
    pub fn parse(text: &str) -> Option<Language> {
        match text {
            "pl" => Some(Language::Pl),
            "en" => Some(Language::En),
            "pl_en" => Some(Language::PlEn),
            _ => None,
        }
    }

    /// The document's primary language tag.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            _ => "pl",
        }
    }
}

/// A label in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Polish.
    pub pl: Cow<'static, str>,
    /// English.
    pub en: Cow<'static, str>,
}

impl Label {
    /// A label from static text.
    pub const fn new(pl: &'static str, en: &'static str) -> Label {
        Label { pl: Cow::Borrowed(pl), en: Cow::Borrowed(en) }
    }

    /// A label made at run time.
    pub fn owned(pl: String, en: String) -> Label {
        Label { pl: Cow::Owned(pl), en: Cow::Owned(en) }
    }

    /// The label with ` N` appended in both languages.
    pub fn numbered(&self, n: usize) -> Label {
        Label::owned(format!("{} {n}", self.pl), format!("{} {n}", self.en))
    }
}

/// Shorthand for the tables below.
const fn l(pl: &'static str, en: &'static str) -> Label {
    Label::new(pl, en)
}

/// Section headings and fixed phrases.
#[allow(missing_docs, reason = "each constant is its own documentation: its Polish and English text")]
pub mod text {
    use super::{Label, l};

    pub const INVOICE_NUMBER: Label = l("Numer faktury", "Invoice number");
    pub const KSEF_NUMBER: Label = l("Numer KSeF", "KSeF number");
    pub const CORRECTED: Label = l("Dane faktury korygowanej", "Corrected invoice");
    pub const CORRECTED_N: Label = l("Dane identyfikacyjne faktury korygowanej", "Corrected invoice identification");
    pub const SELLER: Label = l("Sprzedawca", "Seller");
    pub const BUYER: Label = l("Nabywca", "Buyer");
    pub const SELLER_BEFORE: Label = l("Sprzedawca – dane przed korektą", "Seller – before correction");
    pub const BUYER_BEFORE: Label = l("Nabywca – dane przed korektą", "Buyer – before correction");
    pub const SELLER_AFTER: Label = l("Sprzedawca – dane po korekcie", "Seller – after correction");
    pub const BUYER_AFTER: Label = l("Nabywca – dane po korekcie", "Buyer – after correction");
    pub const OTHER_PARTY: Label = l("Podmiot inny", "Other party");
    pub const AUTHORIZED_PARTY: Label = l("Podmiot upoważniony", "Authorised party");
    pub const ADDRESS: Label = l("Adres", "Address");
    pub const CORRESPONDENCE: Label = l("Adres do korespondencji", "Correspondence address");
    pub const CONTACT: Label = l("Dane kontaktowe", "Contact details");
    pub const DETAILS: Label = l("Szczegóły", "Details");
    pub const ISSUE_DATE_LEGAL: Label =
        l("Data wystawienia, z zastrzeżeniem art. 106na ust. 1 ustawy", "Issue date, subject to art. 106na(1) of the VAT Act");
    pub const SUPPLY_DATE: Label =
        l("Data dokonania lub zakończenia dostawy towarów lub wykonania usługi", "Date of supply of goods or services");
    pub const LINES: Label = l("Pozycje", "Lines");
    pub const CURRENCY_NOTE: Label = l("Faktura wystawiona w walucie", "Invoice currency");
    pub const BEFORE_ROW: Label = l("Stan przed", "Before correction");
    pub const OUTSIDE_KSEF: Label = l("NIE – faktura wystawiona poza KSeF", "NO – issued outside KSeF");
    pub const PAYMENT_RECEIVED: Label = l("Data otrzymania zapłaty", "Date the payment was received");
    pub const SUPPLY_PERIOD: Label = l(
        "Data dokonania lub zakończenia dostawy towarów lub wykonania usługi (od – do)",
        "Date of supply of goods or services (from – to)",
    );
    pub const DISCOUNT: Label = l("Rabat", "Discount");
    pub const DISCOUNT_PERIOD: Label = l("Okres, którego dotyczy rabat", "Period the discount covers");
    pub const DISCOUNT_ALL: Label = l(
        "Rabat dotyczy wszystkich dostaw towarów i wykonanych usług na rzecz tego nabywcy w danym okresie",
        "Covers all supplies to this buyer in the period",
    );
    pub const DISCOUNT_GOODS: Label = l("Towary lub usługi objęte rabatem", "Goods or services the discount covers");
    pub const NO_WORD: Label = l("NIE", "NO");
    pub const ACCOUNT_NUMBER: Label = l("Pełny numer rachunku", "Account number");
    pub const ACCOUNT_DESCRIPTION: Label = l("Opis rachunku", "Account description");
    pub const TO_PAY: Label = l("Do zapłaty", "To pay");
    pub const TO_SETTLE: Label = l("Do rozliczenia", "To settle");
    pub const INFO_CONTENT: Label = l("Treść informacji", "Content");
    pub const TABLE_SUMMARY: Label = l("Podsumowanie tabeli", "Table total");
    pub const TOTAL_DUE: Label = l("Kwota należności ogółem", "Total amount due");
    pub const TOTAL_CORRECTION: Label = l("Korekta kwoty należności ogółem", "Correction of the total amount due");
    pub const TOTAL_REMAINING: Label = l("Kwota pozostała do zapłaty", "Amount remaining to be paid");
    pub const ORDER: Label = l("Zamówienie", "Order");
    pub const ORDER_VALUE: Label = l("Wartość zamówienia", "Order value");
    pub const VAT_SUMMARY: Label = l("Podsumowanie stawek podatku", "VAT summary by rate");
    pub const NET: Label = l("Kwota netto", "Net amount");
    pub const TAX: Label = l("Kwota podatku", "VAT amount");
    pub const GROSS: Label = l("Kwota brutto", "Gross amount");
    pub const TAX_PLN: Label = l("Kwota podatku PLN", "VAT amount in PLN");
    pub const RATE: Label = l("Stawka podatku", "VAT rate");
    pub const NO: Label = l("Lp.", "No.");
    pub const ANNOTATIONS: Label = l("Adnotacje", "Annotations");
    pub const ADDITIONAL: Label = l("Dodatkowe informacje", "Additional information");
    pub const SETTLEMENT: Label = l("Rozliczenie", "Settlement");
    pub const PAYMENT: Label = l("Płatność", "Payment");
    pub const TRANSACTION: Label = l("Warunki transakcji", "Transaction terms");
    pub const FOOTER: Label = l("Stopka", "Footer");
    pub const ATTACHMENT: Label = l("Załącznik do Faktury VAT", "Attachment to the VAT invoice");
    pub const OTHER_DATA: Label = l("Pozostałe dane", "Other data");
    pub const KOD1_HEADING: Label = l("Sprawdź, czy Twoja faktura znajduje się w KSeF!", "Check that your invoice is in KSeF");
    pub const KOD1_HELP: Label = l(
        "Nie możesz zeskanować kodu z obrazka? Kliknij w link weryfikacyjny i przejdź do weryfikacji faktury!",
        "Cannot scan the code? Open the verification link to verify the invoice.",
    );
    pub const KOD2_HEADING: Label = l("Zweryfikuj dostawcę faktury", "Verify the issuer of the invoice");
    pub const KOD2_HELP: Label = l(
        "Nie możesz zeskanować kodu z obrazka? Kliknij w link weryfikacyjny i przejdź do weryfikacji wystawcy faktury!",
        "Cannot scan the code? Open the verification link to verify the issuer.",
    );
    pub const CERTIFICATE_GLOSS: Label = l("", "Certificate – verifies the issuer");
    pub const OFFLINE_GLOSS: Label = l("", "Issued in offline mode");
    pub const CREATED_IN: Label = l("Wytworzona w", "Produced in");
    pub const YES: Label = l("TAK", "YES");
    pub const NOTE_YES: Label = l("Tak", "Yes");
    pub const PAGE: Label = l("Strona", "Page");
    pub const OF: Label = l("z", "of");
}

/// The readable name `key` (from `ksef_fa::names`) as a label; `None` if the catalogue lacks it.
pub fn field(key: &str) -> Option<Label> {
    FIELDS.binary_search_by(|(k, ..)| (*k).cmp(key)).ok().map(|i| Label::new(FIELDS[i].1, FIELDS[i].2))
}

/// `(readable name, Polish, English)`, sorted by readable name.
pub const FIELDS: &[(&str, &str, &str)] = &[
    ("additionalInfo", "Dodatkowy opis", "Additional description"),
    ("address", "Adres", "Address"),
    ("advanceExchangeRate", "Kurs waluty zaliczki", "Advance exchange rate"),
    ("advanceExchangeRateBefore", "Kurs waluty zaliczki przed korektą", "Advance exchange rate before correction"),
    ("advanceInvoices", "Faktury zaliczkowe", "Advance invoices"),
    ("aircraftHours", "Liczba godzin lotu", "Flight hours"),
    ("aircraftSerialNumber", "Numer fabryczny statku powietrznego", "Aircraft serial number"),
    ("amount", "Kwota", "Amount"),
    ("annex15", "Znacznik zał. 15", "Annex 15 goods"),
    ("annotations", "Adnotacje", "Annotations"),
    ("antiques", "przedmioty kolekcjonerskie i antyki", "collectors' items and antiques"),
    ("applies", "Procedura marży", "Margin scheme"),
    ("art42_5", "Obowiązek z art. 42 ust. 5", "Obligation under art. 42(5)"),
    ("attachment", "Załącznik", "Attachment"),
    ("authorizedParty", "Podmiot upoważniony", "Authorised party"),
    ("bankAccounts", "Rachunek bankowy", "Bank account"),
    ("bankName", "Nazwa banku", "Bank name"),
    ("bankOwnAccount", "Rachunek własny banku", "Bank's own account"),
    ("batchNumbers", "Numery partii towaru", "Batch numbers"),
    ("bdo", "BDO", "BDO"),
    ("before", "Stan przed", "Before correction"),
    ("boatHours", "Liczba godzin używania jednostki pływającej", "Hours of use of the vessel"),
    ("buyer", "Nabywca", "Buyer"),
    ("buyerId", "Identyfikator nabywcy", "Buyer ID"),
    ("buyersBefore", "Nabywca przed korektą", "Buyer before correction"),
    ("cargo", "Opis ładunku", "Cargo"),
    ("carrier", "Przewoźnik", "Carrier"),
    ("carrierAddress", "Adres przewoźnika", "Carrier address"),
    ("cashAccounting", "Metoda kasowa", "Cash accounting"),
    ("cells", "Komórki", "Cells"),
    ("charges", "Obciążenia", "Charges"),
    ("chargesTotal", "Suma obciążeń", "Total charges"),
    ("chassisNumber", "Numer nadwozia", "Chassis number"),
    ("cn", "CN", "CN"),
    ("colour", "Kolor", "Colour"),
    ("columns", "Kolumny", "Columns"),
    ("conditions", "Warunki skonta", "Discount conditions"),
    ("contacts", "Dane kontaktowe", "Contact details"),
    ("contractCurrency", "Waluta umowna", "Contract currency"),
    ("contractRate", "Kurs umowny", "Contract exchange rate"),
    ("contracts", "Umowy", "Contracts"),
    ("correctNumber", "Poprawny numer faktury korygowanej", "Correct number of the corrected invoice"),
    ("correctedInvoices", "Faktury korygowane", "Corrected invoices"),
    ("correctedPeriod", "Okres faktur korygowanych", "Period of the corrected invoices"),
    ("correctionReason", "Przyczyna korekty", "Reason for correction"),
    ("correctionType", "Typ skutku korekty", "Effect of the correction"),
    ("correspondenceAddress", "Adres do korespondencji", "Correspondence address"),
    ("count", "Ilość", "Quantity"),
    ("countryCode", "Kraj", "Country"),
    ("createdAt", "Data wytworzenia faktury", "Produced at"),
    ("currency", "Waluta", "Currency"),
    ("customerNumber", "Numer klienta", "Customer number"),
    ("dataBlocks", "Blok danych", "Data block"),
    ("date", "Data", "Date"),
    ("deductions", "Odliczenia", "Deductions"),
    ("deductionsTotal", "Suma odliczeń", "Total deductions"),
    ("deliveryTerms", "Warunki dostawy", "Delivery terms"),
    ("description", "Opis", "Description"),
    ("directiveBasis", "Podstawa zwolnienia – dyrektywa", "Exemption basis – directive"),
    ("discount", "Rabat", "Discount"),
    ("discountTerms", "Skonto", "Early payment discount"),
    ("email", "E-mail", "E-mail"),
    ("eori", "Numer EORI", "EORI number"),
    ("euCountryCode", "Kod kraju UE", "EU country code"),
    ("euVatNumber", "Numer VAT-UE", "EU VAT number"),
    ("exchangeRate", "Kurs waluty", "Exchange rate"),
    ("exciseAmount", "Kwota akcyzy", "Excise duty"),
    ("exciseRefund", "Zwrot akcyzy", "Excise refund"),
    ("exempt", "Zwolnienie od podatku", "VAT exemption"),
    ("exemption", "Zwolnienie", "Exemption"),
    ("factorBankAccounts", "Rachunek bankowy faktora", "Factor's bank account"),
    ("firstUseDate", "Data dopuszczenia do użytku", "Date first used"),
    ("footer", "Stopka", "Footer"),
    ("formCode", "Kod formularza", "Form code"),
    ("formVariant", "Wariant formularza", "Form variant"),
    ("frameNumber", "Numer ramy", "Frame number"),
    ("from", "Od", "From"),
    ("fullName", "Pełna nazwa", "Full name"),
    ("gln", "GLN", "GLN"),
    ("grossAmount", "Wartość sprzedaży brutto", "Gross amount"),
    ("gtin", "GTIN", "GTIN"),
    ("gtu", "GTU", "GTU"),
    ("header", "Nagłówek", "Header"),
    ("hullNumber", "Numer kadłuba", "Hull number"),
    ("identification", "Dane identyfikacyjne", "Identification"),
    ("inKsef", "Faktura w KSeF", "Invoice in KSeF"),
    ("index", "Indeks", "Index"),
    ("intermediary", "Podmiot pośredniczący", "Intermediary"),
    ("internalId", "Identyfikator wewnętrzny", "Internal ID"),
    ("invoice", "Faktura", "Invoice"),
    ("ipKsef", "Identyfikator płatności Krajowego Systemu e-Faktur", "KSeF payment identifier"),
    ("issueDate", "Data wystawienia", "Issue date"),
    ("key", "Rodzaj informacji", "Information"),
    ("kilometres", "Przebieg", "Mileage"),
    ("kind", "Rodzaj faktury", "Invoice kind"),
    ("krs", "KRS", "KRS"),
    ("ksefNumber", "Numer KSeF", "KSeF number"),
    ("line1", "Adres", "Address"),
    ("line2", "Adres cd.", "Address (cont.)"),
    ("lineNumber", "Numer wiersza", "Line number"),
    ("lines", "Pozycje", "Lines"),
    ("localGovernmentUnit", "Faktura dotyczy jednostki podrzędnej JST", "Invoice concerns a local government sub-unit"),
    ("make", "Marka", "Make"),
    ("margin", "Procedura marży", "Margin scheme"),
    ("metadata", "Metadane", "Metadata"),
    ("method", "Forma płatności", "Payment method"),
    ("mode", "Rodzaj transportu", "Mode of transport"),
    ("model", "Model", "Model"),
    ("name", "Nazwa", "Name"),
    ("net0Domestic", "Wartość sprzedaży 0% – krajowe", "Net, 0% domestic"),
    ("net0Export", "Wartość sprzedaży 0% – eksport", "Net, 0% export"),
    ("net0IntraEu", "Wartość sprzedaży 0% – WDT", "Net, 0% intra-EU supply"),
    ("net23", "Wartość sprzedaży netto 23% lub 22%", "Net, 23% or 22%"),
    ("net5", "Wartość sprzedaży netto 5%", "Net, 5%"),
    ("net8", "Wartość sprzedaży netto 8% lub 7%", "Net, 8% or 7%"),
    ("netAmount", "Wartość sprzedaży netto", "Net amount"),
    ("netEuServices", "Wartość sprzedaży np na podstawie art. 100 ust. 1 pkt 4", "Net, not taxable (art. 100(1)(4))"),
    ("netExempt", "Wartość sprzedaży zwolnionej", "Net, exempt"),
    ("netMargin", "Wartość sprzedaży w procedurze marży", "Net, margin scheme"),
    ("netOss", "Wartość sprzedaży OSS", "Net, OSS"),
    ("netOutsidePoland", "Wartość sprzedaży np z wyłączeniem art. 100 ust. 1 pkt 4", "Net, not taxable in Poland"),
    ("netReverseCharge", "Wartość sprzedaży – odwrotne obciążenie", "Net, reverse charge"),
    ("netTaxi", "Wartość sprzedaży 4% lub 3%", "Net, 4% or 3%"),
    ("newMeansOfTransport", "Nowe środki transportu", "New means of transport"),
    ("nip", "NIP", "NIP"),
    ("noTaxId", "Brak identyfikatora", "No tax identifier"),
    ("notApplicable", "Brak procedury marży", "No margin scheme"),
    ("notExempt", "Brak zwolnienia", "Not exempt"),
    ("notSupplied", "Brak dostawy nowych środków transportu", "No new means of transport"),
    ("notes", "Pozostałe informacje", "Other information"),
    ("number", "Numer", "Number"),
    ("order", "Zamówienie", "Order"),
    ("orders", "Zamówienia", "Orders"),
    ("ossRate", "Stawka podatku OSS", "OSS rate"),
    ("otherBasis", "Podstawa zwolnienia – inna", "Exemption basis – other"),
    ("otherCargo", "Ładunek inny", "Other cargo"),
    ("otherCargoDescription", "Opis innego ładunku", "Other cargo description"),
    ("otherMethod", "Płatność inna", "Other payment method"),
    ("otherMethodDescription", "Opis płatności innej", "Other payment method"),
    ("otherParties", "Podmiot inny", "Other party"),
    ("otherRole", "Rola inna", "Other role"),
    ("otherRoleDescription", "Opis roli", "Role description"),
    ("otherTransport", "Transport inny", "Other transport"),
    ("otherTransportDescription", "Opis innego transportu", "Other transport description"),
    ("otherType", "Inny typ", "Other type"),
    ("outsideKsef", "Faktura wystawiona poza KSeF", "Issued outside KSeF"),
    ("packagingUnit", "Jednostka opakowania", "Packaging unit"),
    ("paid", "Zapłacono", "Paid"),
    ("paragraphs", "Akapit", "Paragraph"),
    ("partialAdvances", "Zaliczki częściowe", "Partial advances"),
    ("partialPayment", "Zapłata częściowa", "Partial payment"),
    ("partialPayments", "Zapłaty częściowe", "Partial payments"),
    ("payment", "Płatność", "Payment"),
    ("paymentDate", "Data zapłaty", "Payment date"),
    ("paymentLink", "Link do płatności", "Payment link"),
    ("period", "Okres", "Period"),
    ("phone", "Tel.", "Phone"),
    ("pkob", "PKOB", "PKOB"),
    ("pkwiu", "PKWiU", "PKWiU"),
    ("placeOfIssue", "Miejsce wystawienia", "Place of issue"),
    ("polishBasis", "Podstawa zwolnienia – ustawa", "Exemption basis – the VAT Act"),
    ("procedure", "Procedura", "Procedure"),
    ("productionYear", "Rok produkcji", "Year of production"),
    ("quantity", "Ilość", "Quantity"),
    ("rate", "Stawka podatku", "VAT rate"),
    ("reason", "Powód", "Reason"),
    ("receiptInvoice", "Faktura do paragonu (art. 109 ust. 3d)", "Invoice for a receipt (art. 109(3d))"),
    ("registers", "Rejestry", "Registers"),
    ("registrationNumber", "Numer rejestracyjny", "Registration number"),
    ("regon", "REGON", "REGON"),
    ("relatedParties", "Powiązania między nabywcą a dokonującym dostawy", "Related parties"),
    ("reverseCharge", "Odwrotne obciążenie", "Reverse charge"),
    ("role", "Rola", "Role"),
    ("rows", "Wiersze", "Rows"),
    ("schemaVersion", "Wersja schematu", "Schema version"),
    ("selfBilling", "Samofakturowanie", "Self-billing"),
    ("seller", "Sprzedawca", "Seller"),
    ("sellerBefore", "Sprzedawca przed korektą", "Seller before correction"),
    ("settlement", "Rozliczenie", "Settlement"),
    ("share", "Udział", "Share"),
    ("shipFrom", "Wysyłka z", "Ship from"),
    ("shipTo", "Wysyłka do", "Ship to"),
    ("shipVia", "Wysyłka przez", "Ship via"),
    ("splitPayment", "Mechanizm podzielonej płatności", "Split payment"),
    ("startingEvent", "Zdarzenie początkowe", "Starting event"),
    ("supplied", "Wewnątrzwspólnotowa dostawa nowych środków transportu", "Intra-EU supply of new means of transport"),
    ("supplyDate", "Data dostawy", "Supply date"),
    ("swift", "Kod SWIFT", "SWIFT code"),
    ("system", "System", "System"),
    ("systemCode", "Kod systemowy", "System code"),
    ("tables", "Tabela", "Table"),
    ("taxId", "Identyfikator podatkowy inny", "Other tax identifier"),
    ("taxpayerStatus", "Status podatnika", "Taxpayer status"),
    ("terms", "Termin płatności", "Payment due"),
    ("text", "Tekst", "Text"),
    ("title", "Nagłówek", "Title"),
    ("to", "Do", "To"),
    ("toPay", "Do zapłaty", "To pay"),
    ("toSettle", "Do rozliczenia", "To settle"),
    ("total", "Kwota należności ogółem", "Total amount due"),
    ("totalBefore", "Kwota należności przed korektą", "Total before correction"),
    ("transactionTerms", "Warunki transakcji", "Transaction terms"),
    ("transport", "Transport", "Transport"),
    ("transportEnd", "Data i godzina zakończenia transportu", "Transport end"),
    ("transportOrderNumber", "Numer zlecenia transportu", "Transport order number"),
    ("transportStart", "Data i godzina rozpoczęcia transportu", "Transport start"),
    ("travelAgency", "biura podróży", "travel agencies"),
    ("triangular", "Procedura trójstronna uproszczona", "Simplified triangular procedure"),
    ("type", "Typ", "Type"),
    ("unit", "Miara", "Unit"),
    ("unitGrossPrice", "Cena jedn. brutto", "Unit gross price"),
    ("unitNetPrice", "Cena jedn. netto", "Unit net price"),
    ("usedGoods", "towary używane", "second-hand goods"),
    ("uuid", "Unikalny numer wiersza", "Unique line number"),
    ("value", "Wartość", "Value"),
    ("vat23", "Kwota podatku 23% lub 22%", "VAT, 23% or 22%"),
    ("vat23Pln", "Kwota podatku 23% lub 22% w PLN", "VAT in PLN, 23% or 22%"),
    ("vat5", "Kwota podatku 5%", "VAT, 5%"),
    ("vat5Pln", "Kwota podatku 5% w PLN", "VAT in PLN, 5%"),
    ("vat8", "Kwota podatku 8% lub 7%", "VAT, 8% or 7%"),
    ("vat8Pln", "Kwota podatku 8% lub 7% w PLN", "VAT in PLN, 8% or 7%"),
    ("vatAmount", "Kwota VAT", "VAT amount"),
    ("vatGroupMember", "Faktura dotyczy członka grupy GV", "Invoice concerns a VAT group member"),
    ("vatOss", "Kwota podatku OSS", "VAT, OSS"),
    ("vatPrefix", "Prefiks VAT", "VAT prefix"),
    ("vatTaxi", "Kwota podatku 4% lub 3%", "VAT, 4% or 3%"),
    ("vatTaxiPln", "Kwota podatku 4% lub 3% w PLN", "VAT in PLN, 4% or 3%"),
    ("vehicleType", "Typ pojazdu", "Vehicle type"),
    ("vehicles", "Nowy środek transportu", "New means of transport"),
    ("vin", "Numer VIN", "VIN"),
    ("warehouseDocuments", "Numery dokumentów WZ", "Goods issue notes (WZ)"),
    ("worksOfArt", "dzieła sztuki", "works of art"),
];

/// The invoice kind in words (the official header's wording).
pub fn kind(code: &str, collective: bool) -> Label {
    match code {
        "VAT" => l("Faktura podstawowa", "VAT invoice"),
        "ZAL" => l("Faktura zaliczkowa", "Advance invoice"),
        "ROZ" => l("Faktura rozliczeniowa", "Settlement invoice"),
        "KOR" if collective => l("Faktura korygująca zbiorcza (rabat)", "Collective correcting invoice (discount)"),
        "KOR" => l("Faktura korygująca", "Correcting invoice"),
        "KOR_ZAL" => l("Faktura korygująca fakturę zaliczkową", "Correction of an advance invoice"),
        "KOR_ROZ" => l("Faktura korygująca fakturę rozliczeniową", "Correction of a settlement invoice"),
        "UPR" => l("Faktura uproszczona", "Simplified invoice"),
        other => Label::owned(format!("Faktura {other}"), format!("Invoice {other}")),
    }
}

/// `TypKorekty` in words.
pub fn correction_type(code: &str) -> Option<Label> {
    Some(match code {
        "1" => l("Korekta skutkująca w dacie ujęcia faktury pierwotnej", "Effective at the date of the original invoice"),
        "2" => l("Korekta skutkująca w dacie wystawienia faktury korygującej", "Effective at the date of the correcting invoice"),
        "3" => l("Korekta skutkująca w dacie innej, w tym gdy dla różnych pozycji faktury korygującej daty te są różne", "Effective at another date"),
        _ => return None,
    })
}

/// `Podmiot3/Rola` in words.
pub fn party_role(code: &str) -> Option<Label> {
    Some(match code {
        "1" => l("Faktor", "Factor"),
        "2" => l("Odbiorca", "Recipient"),
        "3" => l("Podmiot pierwotny", "Original entity"),
        "4" => l("Dodatkowy nabywca", "Additional buyer"),
        "5" => l("Wystawca faktury", "Invoice issuer"),
        "6" => l("Dokonujący płatności", "Payer"),
        "7" => l("Jednostka samorządu terytorialnego – wystawca", "Local government unit – issuer"),
        "8" => l("Jednostka samorządu terytorialnego – odbiorca", "Local government unit – recipient"),
        "9" => l("Członek grupy VAT – wystawca", "VAT group member – issuer"),
        "10" => l("Członek grupy VAT – odbiorca", "VAT group member – recipient"),
        "11" => l("Pracownik", "Employee"),
        _ => return None,
    })
}

/// `PodmiotUpowazniony/RolaPU` in words.
pub fn authorized_role(code: &str) -> Option<Label> {
    Some(match code {
        "1" => l("Organ egzekucyjny", "Enforcement authority"),
        "2" => l("Komornik sądowy", "Court bailiff"),
        "3" => l("Przedstawiciel podatkowy", "Tax representative"),
        _ => return None,
    })
}

/// `FormaPlatnosci` in words.
pub fn payment_method(code: &str) -> Option<Label> {
    Some(match code {
        "1" => l("Gotówka", "Cash"),
        "2" => l("Karta", "Card"),
        "3" => l("Bon", "Voucher"),
        "4" => l("Czek", "Cheque"),
        "5" => l("Kredyt", "Credit"),
        "6" => l("Przelew", "Bank transfer"),
        "7" => l("Mobilna", "Mobile payment"),
        _ => return None,
    })
}

/// `RachunekWlasnyBanku` in words.
pub fn bank_own_account(code: &str) -> Option<Label> {
    Some(match code {
        "1" => l(
            "Rachunek banku lub SKOK służący do rozliczeń z tytułu nabywanych przez ten bank lub tę kasę wierzytelności pieniężnych",
            "The bank's account for settling receivables it acquired",
        ),
        "2" => l(
            "Rachunek banku lub SKOK wykorzystywany do pobrania należności od nabywcy i przekazania jej dostawcy",
            "The bank's account for collecting the buyer's payment and passing it on to the supplier",
        ),
        "3" => l(
            "Rachunek banku lub SKOK prowadzony w ramach gospodarki własnej, niebędący rachunkiem rozliczeniowym",
            "The bank's own-management account, not a settlement account",
        ),
        _ => return None,
    })
}

/// What a yes-only flag (`TWybor1`, value `1`) states, for flags shown as sentences rather than as a value.
pub fn flag(key: &str) -> Option<Label> {
    Some(match key {
        "receiptInvoice" => l("Faktura, o której mowa w art. 109 ust. 3d ustawy", "Invoice under art. 109(3d) of the VAT Act (for a receipt)"),
        "relatedParties" => l(
            "Istniejące powiązania między nabywcą a dokonującym dostawy towarów lub usługodawcą",
            "The buyer and the supplier are related parties",
        ),
        "exciseRefund" => l(
            "Informacja dodatkowa niezbędna dla rolników ubiegających się o zwrot podatku akcyzowego zawartego w cenie oleju napędowego",
            "Information for farmers claiming a refund of the excise duty in the price of diesel fuel",
        ),
        "intermediary" => l(
            "Dostawa dokonana przez podmiot, o którym mowa w art. 22 ust. 2d ustawy",
            "Supply by the intermediary referred to in art. 22(2d) of the VAT Act",
        ),
        _ => return None,
    })
}

/// `StatusInfoPodatnika` in words.
pub fn taxpayer_status(code: &str) -> Option<Label> {
    Some(match code {
        "1" => l("Stan likwidacji", "In liquidation"),
        "2" => l("Postępowanie restrukturyzacyjne", "In restructuring"),
        "3" => l("Stan upadłości", "In bankruptcy"),
        "4" => l("Przedsiębiorstwo w spadku", "Enterprise in succession"),
        _ => return None,
    })
}

/// `P_12` as printed: percentages with `%`, 0% variants spelled out, other codes as they are.
pub fn rate(code: &str) -> String {
    match code {
        "0 KR" => "0% - KR".to_owned(),
        "0 WDT" => "0% - WDT".to_owned(),
        "0 EX" => "0% - EX".to_owned(),
        c if c.bytes().all(|b| b.is_ascii_digit()) && !c.is_empty() => format!("{c}%"),
        c => c.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_table_is_sorted_so_every_label_is_found() {
        assert!(FIELDS.windows(2).all(|w| w[0].0 < w[1].0), "sorted and unique: {:?}", FIELDS.windows(2).find(|w| w[0].0 >= w[1].0));
        assert_eq!(field("total").unwrap().pl, "Kwota należności ogółem");
    }

    #[test]
    fn every_readable_fa3_name_has_a_label() {
        let missing: Vec<&str> = ksef_fa::names::NAMES.iter().map(|(_, r)| *r).filter(|r| field(r.trim_start_matches('@')).is_none()).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }
}
