//! The typed FA(2) model, generated from the compiled schema by `ksef_fa::codegen` (do not edit; run
//! `cargo run -p ksef-fa --example gen_model`). Each field's JSON name is its readable name; its doc gives the FA name.

use serde::{Deserialize, Serialize};

use super::{Decimal, text};

/// `TNaglowek/KodFormularza`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormCode {
    /// `@kodSystemowy` (string).
    #[serde(rename = "@systemCode")]
    pub system_code: String,
    /// `@wersjaSchemy` (string).
    #[serde(rename = "@schemaVersion")]
    pub schema_version: String,
    /// `text()` (TKodFormularza).
    #[serde(rename = "value")]
    pub value: String,
}

/// `TNaglowek`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// `KodFormularza`.
    #[serde(rename = "formCode")]
    pub form_code: FormCode,
    /// `WariantFormularza`.
    #[serde(rename = "formVariant", with = "text::one")]
    pub form_variant: i8,
    /// `DataWytworzeniaFa`.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `SystemInfo` (TZnakowy).
    #[serde(rename = "system", default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// `TPodmiot1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identification {
    /// `NIP` (TNrNIP).
    #[serde(rename = "nip")]
    pub nip: String,
    /// `Nazwa` (TZnakowy512).
    #[serde(rename = "name")]
    pub name: String,
}

/// `TAdres`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// `KodKraju` (TKodKraju).
    #[serde(rename = "countryCode")]
    pub country_code: String,
    /// `AdresL1` (TZnakowy512).
    #[serde(rename = "line1")]
    pub line1: String,
    /// `AdresL2` (TZnakowy512).
    #[serde(rename = "line2", default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// `GLN` (TGLN).
    #[serde(rename = "gln", default, skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
}

/// `Faktura/Podmiot1/AdresKoresp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrespondenceAddress {
    /// `KodKraju` (TKodKraju).
    #[serde(rename = "countryCode")]
    pub country_code: String,
    /// `AdresL1` (TZnakowy512).
    #[serde(rename = "line1")]
    pub line1: String,
    /// `AdresL2` (TZnakowy512).
    #[serde(rename = "line2", default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// `GLN` (TGLN).
    #[serde(rename = "gln", default, skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
}

/// `Faktura/Podmiot1/DaneKontaktowe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// `Email` (TAdresEmail).
    #[serde(rename = "email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Telefon` (TNumerTelefonu).
    #[serde(rename = "phone", default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `Faktura/Podmiot1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seller {
    /// `PrefiksPodatnika` (TKodyKrajowUE).
    #[serde(rename = "vatPrefix", default, skip_serializing_if = "Option::is_none")]
    pub vat_prefix: Option<String>,
    /// `NrEORI` (TZnakowy).
    #[serde(rename = "eori", default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: Identification,
    /// `Adres`.
    #[serde(rename = "address")]
    pub address: Address,
    /// `AdresKoresp`.
    #[serde(rename = "correspondenceAddress", default, skip_serializing_if = "Option::is_none")]
    pub correspondence_address: Option<CorrespondenceAddress>,
    /// `DaneKontaktowe`.
    #[serde(rename = "contacts", default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// `StatusInfoPodatnika` (TStatusInfoPodatnika).
    #[serde(rename = "taxpayerStatus", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub taxpayer_status: Option<i64>,
}

/// `TPodmiot2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyerIdentification {
    /// `NIP` (TNrNIP).
    #[serde(rename = "nip", default, skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
    /// `KodUE` (TKodyKrajowUE).
    #[serde(rename = "euCountryCode", default, skip_serializing_if = "Option::is_none")]
    pub eu_country_code: Option<String>,
    /// `NrVatUE` (TNrVatUE).
    #[serde(rename = "euVatNumber", default, skip_serializing_if = "Option::is_none")]
    pub eu_vat_number: Option<String>,
    /// `KodKraju` (TKodKraju).
    #[serde(rename = "countryCode", default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// `NrID`.
    #[serde(rename = "taxId", default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    /// `BrakID` (TWybor1).
    #[serde(rename = "noTaxId", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub no_tax_id: Option<i8>,
    /// `Nazwa` (TZnakowy512).
    #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `Faktura/Podmiot2/DaneKontaktowe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyerContact {
    /// `Email` (TAdresEmail).
    #[serde(rename = "email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Telefon` (TNumerTelefonu).
    #[serde(rename = "phone", default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `Faktura/Podmiot2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    /// `NrEORI` (TZnakowy).
    #[serde(rename = "eori", default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: BuyerIdentification,
    /// `Adres`.
    #[serde(rename = "address", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// `AdresKoresp`.
    #[serde(rename = "correspondenceAddress", default, skip_serializing_if = "Option::is_none")]
    pub correspondence_address: Option<Address>,
    /// `DaneKontaktowe`.
    #[serde(rename = "contacts", default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<BuyerContact>,
    /// `NrKlienta` (TZnakowy).
    #[serde(rename = "customerNumber", default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    /// `IDNabywcy`.
    #[serde(rename = "buyerId", default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
}

/// `TPodmiot3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherPartyIdentification {
    /// `NIP` (TNrNIP).
    #[serde(rename = "nip", default, skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
    /// `IDWew` (TNIPIdWew).
    #[serde(rename = "internalId", default, skip_serializing_if = "Option::is_none")]
    pub internal_id: Option<String>,
    /// `KodUE` (TKodyKrajowUE).
    #[serde(rename = "euCountryCode", default, skip_serializing_if = "Option::is_none")]
    pub eu_country_code: Option<String>,
    /// `NrVatUE` (TNrVatUE).
    #[serde(rename = "euVatNumber", default, skip_serializing_if = "Option::is_none")]
    pub eu_vat_number: Option<String>,
    /// `KodKraju` (TKodKraju).
    #[serde(rename = "countryCode", default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// `NrID`.
    #[serde(rename = "taxId", default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    /// `BrakID` (TWybor1).
    #[serde(rename = "noTaxId", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub no_tax_id: Option<i8>,
    /// `Nazwa` (TZnakowy512).
    #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `Faktura/Podmiot3/DaneKontaktowe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherPartyContact {
    /// `Email` (TAdresEmail).
    #[serde(rename = "email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Telefon` (TNumerTelefonu).
    #[serde(rename = "phone", default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `Faktura/Podmiot3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherParty {
    /// `IDNabywcy`.
    #[serde(rename = "buyerId", default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
    /// `NrEORI` (TZnakowy).
    #[serde(rename = "eori", default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: OtherPartyIdentification,
    /// `Adres`.
    #[serde(rename = "address")]
    pub address: Address,
    /// `AdresKoresp`.
    #[serde(rename = "correspondenceAddress", default, skip_serializing_if = "Option::is_none")]
    pub correspondence_address: Option<Address>,
    /// `DaneKontaktowe`.
    #[serde(rename = "contacts", default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<OtherPartyContact>,
    /// `Rola` (TRolaPodmiotu3).
    #[serde(rename = "role", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub role: Option<i64>,
    /// `RolaInna` (TWybor1).
    #[serde(rename = "otherRole", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub other_role: Option<i8>,
    /// `OpisRoli` (TZnakowy).
    #[serde(rename = "otherRoleDescription", default, skip_serializing_if = "Option::is_none")]
    pub other_role_description: Option<String>,
    /// `Udzial` (TProcentowy).
    #[serde(rename = "share", default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Decimal>,
    /// `NrKlienta` (TZnakowy).
    #[serde(rename = "customerNumber", default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
}

/// `Faktura/PodmiotUpowazniony/DaneKontaktowe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizedPartyContact {
    /// `EmailPU` (TAdresEmail).
    #[serde(rename = "email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `TelefonPU` (TNumerTelefonu).
    #[serde(rename = "phone", default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `Faktura/PodmiotUpowazniony`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizedParty {
    /// `NrEORI` (TZnakowy).
    #[serde(rename = "eori", default, skip_serializing_if = "Option::is_none")]
    pub eori: Option<String>,
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: Identification,
    /// `Adres`.
    #[serde(rename = "address")]
    pub address: Address,
    /// `AdresKoresp`.
    #[serde(rename = "correspondenceAddress", default, skip_serializing_if = "Option::is_none")]
    pub correspondence_address: Option<Address>,
    /// `DaneKontaktowe`.
    #[serde(rename = "contacts", default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<AuthorizedPartyContact>,
    /// `RolaPU` (TRolaPodmiotuUpowaznionego).
    #[serde(rename = "role", with = "text::one")]
    pub role: i64,
}

/// `Faktura/Fa/OkresFa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// `P_6_Od` (TDataT).
    #[serde(rename = "from", with = "text::one")]
    pub from: chrono::NaiveDate,
    /// `P_6_Do` (TDataT).
    #[serde(rename = "to", with = "text::one")]
    pub to: chrono::NaiveDate,
}

/// `Faktura/Fa/Adnotacje/Zwolnienie`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// `P_19` (TWybor1).
    #[serde(rename = "exempt", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub exempt: Option<i8>,
    /// `P_19A` (TZnakowy).
    #[serde(rename = "polishBasis", default, skip_serializing_if = "Option::is_none")]
    pub polish_basis: Option<String>,
    /// `P_19B` (TZnakowy).
    #[serde(rename = "directiveBasis", default, skip_serializing_if = "Option::is_none")]
    pub directive_basis: Option<String>,
    /// `P_19C` (TZnakowy).
    #[serde(rename = "otherBasis", default, skip_serializing_if = "Option::is_none")]
    pub other_basis: Option<String>,
    /// `P_19N` (TWybor1).
    #[serde(rename = "notExempt", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub not_exempt: Option<i8>,
}

/// `Faktura/Fa/Adnotacje/NoweSrodkiTransportu/NowySrodekTransportu`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    /// `P_22A` (TDataT).
    #[serde(rename = "firstUseDate", with = "text::one")]
    pub first_use_date: chrono::NaiveDate,
    /// `P_NrWierszaNST` (TNaturalny).
    #[serde(rename = "lineNumber", with = "text::one")]
    pub line_number: u64,
    /// `P_22BMK` (TZnakowy).
    #[serde(rename = "make", default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// `P_22BMD` (TZnakowy).
    #[serde(rename = "model", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `P_22BK` (TZnakowy).
    #[serde(rename = "colour", default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// `P_22BNR` (TZnakowy).
    #[serde(rename = "registrationNumber", default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    /// `P_22BRP` (TZnakowy).
    #[serde(rename = "productionYear", default, skip_serializing_if = "Option::is_none")]
    pub production_year: Option<String>,
    /// `P_22B` (TZnakowy).
    #[serde(rename = "kilometres", default, skip_serializing_if = "Option::is_none")]
    pub kilometres: Option<String>,
    /// `P_22B1` (TZnakowy).
    #[serde(rename = "vin", default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<String>,
    /// `P_22B2` (TZnakowy).
    #[serde(rename = "chassisNumber", default, skip_serializing_if = "Option::is_none")]
    pub chassis_number: Option<String>,
    /// `P_22B3` (TZnakowy).
    #[serde(rename = "frameNumber", default, skip_serializing_if = "Option::is_none")]
    pub frame_number: Option<String>,
    /// `P_22B4` (TZnakowy).
    #[serde(rename = "vehicleType", default, skip_serializing_if = "Option::is_none")]
    pub vehicle_type: Option<String>,
    /// `P_22BT` (TZnakowy).
    #[serde(rename = "otherType", default, skip_serializing_if = "Option::is_none")]
    pub other_type: Option<String>,
    /// `P_22C` (TZnakowy).
    #[serde(rename = "boatHours", default, skip_serializing_if = "Option::is_none")]
    pub boat_hours: Option<String>,
    /// `P_22C1` (TZnakowy).
    #[serde(rename = "hullNumber", default, skip_serializing_if = "Option::is_none")]
    pub hull_number: Option<String>,
    /// `P_22D` (TZnakowy).
    #[serde(rename = "aircraftHours", default, skip_serializing_if = "Option::is_none")]
    pub aircraft_hours: Option<String>,
    /// `P_22D1` (TZnakowy).
    #[serde(rename = "aircraftSerialNumber", default, skip_serializing_if = "Option::is_none")]
    pub aircraft_serial_number: Option<String>,
}

/// `Faktura/Fa/Adnotacje/NoweSrodkiTransportu`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMeansOfTransport {
    /// `P_22` (TWybor1).
    #[serde(rename = "supplied", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub supplied: Option<i8>,
    /// `P_42_5` (TWybor1_2).
    #[serde(rename = "art42_5", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub art42_5: Option<i8>,
    /// `NowySrodekTransportu`.
    #[serde(rename = "vehicles", default, skip_serializing_if = "Vec::is_empty")]
    pub vehicles: Vec<Vehicle>,
    /// `P_22N` (TWybor1).
    #[serde(rename = "notSupplied", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub not_supplied: Option<i8>,
}

/// `Faktura/Fa/Adnotacje/PMarzy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Margin {
    /// `P_PMarzy` (TWybor1).
    #[serde(rename = "applies", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub applies: Option<i8>,
    /// `P_PMarzy_2` (TWybor1).
    #[serde(rename = "travelAgency", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub travel_agency: Option<i8>,
    /// `P_PMarzy_3_1` (TWybor1).
    #[serde(rename = "usedGoods", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub used_goods: Option<i8>,
    /// `P_PMarzy_3_2` (TWybor1).
    #[serde(rename = "worksOfArt", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub works_of_art: Option<i8>,
    /// `P_PMarzy_3_3` (TWybor1).
    #[serde(rename = "antiques", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub antiques: Option<i8>,
    /// `P_PMarzyN` (TWybor1).
    #[serde(rename = "notApplicable", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub not_applicable: Option<i8>,
}

/// `Faktura/Fa/Adnotacje`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// `P_16` (TWybor1_2).
    #[serde(rename = "cashAccounting", with = "text::one")]
    pub cash_accounting: i8,
    /// `P_17` (TWybor1_2).
    #[serde(rename = "selfBilling", with = "text::one")]
    pub self_billing: i8,
    /// `P_18` (TWybor1_2).
    #[serde(rename = "reverseCharge", with = "text::one")]
    pub reverse_charge: i8,
    /// `P_18A` (TWybor1_2).
    #[serde(rename = "splitPayment", with = "text::one")]
    pub split_payment: i8,
    /// `Zwolnienie`.
    #[serde(rename = "exemption")]
    pub exemption: Exemption,
    /// `NoweSrodkiTransportu`.
    #[serde(rename = "newMeansOfTransport")]
    pub new_means_of_transport: NewMeansOfTransport,
    /// `P_23` (TWybor1_2).
    #[serde(rename = "triangular", with = "text::one")]
    pub triangular: i8,
    /// `PMarzy`.
    #[serde(rename = "margin")]
    pub margin: Margin,
}

/// `Faktura/Fa/DaneFaKorygowanej`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectedInvoice {
    /// `DataWystFaKorygowanej` (TDataT).
    #[serde(rename = "issueDate", with = "text::one")]
    pub issue_date: chrono::NaiveDate,
    /// `NrFaKorygowanej` (TZnakowy).
    #[serde(rename = "number")]
    pub number: String,
    /// `NrKSeF` (TWybor1).
    #[serde(rename = "inKsef", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub in_ksef: Option<i8>,
    /// `NrKSeFFaKorygowanej` (TNumerKSeF).
    #[serde(rename = "ksefNumber", default, skip_serializing_if = "Option::is_none")]
    pub ksef_number: Option<String>,
    /// `NrKSeFN` (TWybor1).
    #[serde(rename = "outsideKsef", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub outside_ksef: Option<i8>,
}

/// `Faktura/Fa/Podmiot1K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerBefore {
    /// `PrefiksPodatnika` (TKodyKrajowUE).
    #[serde(rename = "vatPrefix", default, skip_serializing_if = "Option::is_none")]
    pub vat_prefix: Option<String>,
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: Identification,
    /// `Adres`.
    #[serde(rename = "address")]
    pub address: Address,
}

/// `Faktura/Fa/Podmiot2K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyersBefore {
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: BuyerIdentification,
    /// `Adres`.
    #[serde(rename = "address", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// `IDNabywcy`.
    #[serde(rename = "buyerId", default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
}

/// `Faktura/Fa/ZaliczkaCzesciowa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialAdvance {
    /// `P_6Z` (TDataT).
    #[serde(rename = "date", with = "text::one")]
    pub date: chrono::NaiveDate,
    /// `P_15Z` (TKwotowy).
    #[serde(rename = "amount")]
    pub amount: Decimal,
    /// `KursWalutyZW` (TIlosci).
    #[serde(rename = "exchangeRate", default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Decimal>,
}

/// `TKluczWartosc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdditionalInfo {
    /// `NrWiersza` (TNaturalny).
    #[serde(rename = "lineNumber", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub line_number: Option<u64>,
    /// `Klucz` (TZnakowy).
    #[serde(rename = "key")]
    pub key: String,
    /// `Wartosc` (TZnakowy).
    #[serde(rename = "value")]
    pub value: String,
}

/// `Faktura/Fa/FakturaZaliczkowa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceInvoice {
    /// `NrKSeFZN` (TWybor1).
    #[serde(rename = "outsideKsef", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub outside_ksef: Option<i8>,
    /// `NrFaZaliczkowej` (TZnakowy).
    #[serde(rename = "number", default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// `NrKSeFFaZaliczkowej` (TNumerKSeF).
    #[serde(rename = "ksefNumber", default, skip_serializing_if = "Option::is_none")]
    pub ksef_number: Option<String>,
}

/// `Faktura/Fa/FaWiersz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// `NrWierszaFa` (TNaturalny).
    #[serde(rename = "number", with = "text::one")]
    pub number: u64,
    /// `UU_ID` (TZnakowy50).
    #[serde(rename = "uuid", default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `P_6A` (TDataT).
    #[serde(rename = "supplyDate", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub supply_date: Option<chrono::NaiveDate>,
    /// `P_7` (TZnakowy).
    #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Indeks` (TZnakowy50).
    #[serde(rename = "index", default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// `GTIN` (TZnakowy20).
    #[serde(rename = "gtin", default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// `PKWiU` (TZnakowy50).
    #[serde(rename = "pkwiu", default, skip_serializing_if = "Option::is_none")]
    pub pkwiu: Option<String>,
    /// `CN` (TZnakowy50).
    #[serde(rename = "cn", default, skip_serializing_if = "Option::is_none")]
    pub cn: Option<String>,
    /// `PKOB` (TZnakowy50).
    #[serde(rename = "pkob", default, skip_serializing_if = "Option::is_none")]
    pub pkob: Option<String>,
    /// `P_8A` (TZnakowy).
    #[serde(rename = "unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `P_8B` (TIlosci).
    #[serde(rename = "quantity", default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `P_9A` (TKwotowy2).
    #[serde(rename = "unitNetPrice", default, skip_serializing_if = "Option::is_none")]
    pub unit_net_price: Option<Decimal>,
    /// `P_9B` (TKwotowy2).
    #[serde(rename = "unitGrossPrice", default, skip_serializing_if = "Option::is_none")]
    pub unit_gross_price: Option<Decimal>,
    /// `P_10` (TKwotowy2).
    #[serde(rename = "discount", default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Decimal>,
    /// `P_11` (TKwotowy).
    #[serde(rename = "netAmount", default, skip_serializing_if = "Option::is_none")]
    pub net_amount: Option<Decimal>,
    /// `P_11A` (TKwotowy).
    #[serde(rename = "grossAmount", default, skip_serializing_if = "Option::is_none")]
    pub gross_amount: Option<Decimal>,
    /// `P_11Vat` (TKwotowy).
    #[serde(rename = "vatAmount", default, skip_serializing_if = "Option::is_none")]
    pub vat_amount: Option<Decimal>,
    /// `P_12` (TStawkaPodatku).
    #[serde(rename = "rate", default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// `P_12_XII` (TProcentowy).
    #[serde(rename = "ossRate", default, skip_serializing_if = "Option::is_none")]
    pub oss_rate: Option<Decimal>,
    /// `P_12_Zal_15` (TWybor1).
    #[serde(rename = "annex15", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub annex15: Option<i8>,
    /// `KwotaAkcyzy` (TKwotowy).
    #[serde(rename = "exciseAmount", default, skip_serializing_if = "Option::is_none")]
    pub excise_amount: Option<Decimal>,
    /// `GTU` (TGTU).
    #[serde(rename = "gtu", default, skip_serializing_if = "Option::is_none")]
    pub gtu: Option<String>,
    /// `Procedura` (TOznaczenieProcedury).
    #[serde(rename = "procedure", default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// `KursWaluty` (TIlosci).
    #[serde(rename = "exchangeRate", default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Decimal>,
    /// `StanPrzed` (TWybor1).
    #[serde(rename = "before", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub before: Option<i8>,
}

/// `Faktura/Fa/Rozliczenie/Obciazenia`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// `Kwota` (TKwotowy).
    #[serde(rename = "amount")]
    pub amount: Decimal,
    /// `Powod` (TZnakowy).
    #[serde(rename = "reason")]
    pub reason: String,
}

/// `Faktura/Fa/Rozliczenie/Odliczenia`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deduction {
    /// `Kwota` (TKwotowy).
    #[serde(rename = "amount")]
    pub amount: Decimal,
    /// `Powod` (TZnakowy).
    #[serde(rename = "reason")]
    pub reason: String,
}

/// `Faktura/Fa/Rozliczenie`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    /// `Obciazenia`.
    #[serde(rename = "charges", default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Charge>,
    /// `SumaObciazen` (TKwotowy).
    #[serde(rename = "chargesTotal", default, skip_serializing_if = "Option::is_none")]
    pub charges_total: Option<Decimal>,
    /// `Odliczenia`.
    #[serde(rename = "deductions", default, skip_serializing_if = "Vec::is_empty")]
    pub deductions: Vec<Deduction>,
    /// `SumaOdliczen` (TKwotowy).
    #[serde(rename = "deductionsTotal", default, skip_serializing_if = "Option::is_none")]
    pub deductions_total: Option<Decimal>,
    /// `DoZaplaty` (TKwotowy).
    #[serde(rename = "toPay", default, skip_serializing_if = "Option::is_none")]
    pub to_pay: Option<Decimal>,
    /// `DoRozliczenia` (TKwotowy).
    #[serde(rename = "toSettle", default, skip_serializing_if = "Option::is_none")]
    pub to_settle: Option<Decimal>,
}

/// `Faktura/Fa/Platnosc/ZaplataCzesciowa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialPayment {
    /// `KwotaZaplatyCzesciowej` (TKwotowy).
    #[serde(rename = "amount")]
    pub amount: Decimal,
    /// `DataZaplatyCzesciowej` (TData).
    #[serde(rename = "date", with = "text::one")]
    pub date: chrono::NaiveDate,
}

/// `Faktura/Fa/Platnosc/TerminPlatnosci`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// `Termin` (TData).
    #[serde(rename = "date", with = "text::one")]
    pub date: chrono::NaiveDate,
    /// `TerminOpis` (TZnakowy).
    #[serde(rename = "description", default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `TRachunekBankowy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// `NrRB` (TNrRB).
    #[serde(rename = "number")]
    pub number: String,
    /// `SWIFT` (SWIFT_Type).
    #[serde(rename = "swift", default, skip_serializing_if = "Option::is_none")]
    pub swift: Option<String>,
    /// `RachunekWlasnyBanku` (TRachunekWlasnyBanku).
    #[serde(rename = "bankOwnAccount", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub bank_own_account: Option<i64>,
    /// `NazwaBanku` (TZnakowy).
    #[serde(rename = "bankName", default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    /// `OpisRachunku` (TZnakowy).
    #[serde(rename = "description", default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `Faktura/Fa/Platnosc/Skonto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountTerm {
    /// `WarunkiSkonta` (TZnakowy).
    #[serde(rename = "conditions")]
    pub conditions: String,
    /// `WysokoscSkonta` (TZnakowy).
    #[serde(rename = "amount")]
    pub amount: String,
}

/// `Faktura/Fa/Platnosc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// `Zaplacono` (TWybor1).
    #[serde(rename = "paid", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub paid: Option<i8>,
    /// `DataZaplaty` (TData).
    #[serde(rename = "paymentDate", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub payment_date: Option<chrono::NaiveDate>,
    /// `ZnacznikZaplatyCzesciowej` (TWybor1).
    #[serde(rename = "partialPayment", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub partial_payment: Option<i8>,
    /// `ZaplataCzesciowa`.
    #[serde(rename = "partialPayments", default, skip_serializing_if = "Vec::is_empty")]
    pub partial_payments: Vec<PartialPayment>,
    /// `TerminPlatnosci`.
    #[serde(rename = "terms", default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<Term>,
    /// `FormaPlatnosci` (TFormaPlatnosci).
    #[serde(rename = "method", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub method: Option<i64>,
    /// `PlatnoscInna` (TWybor1).
    #[serde(rename = "otherMethod", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub other_method: Option<i8>,
    /// `OpisPlatnosci` (TZnakowy).
    #[serde(rename = "otherMethodDescription", default, skip_serializing_if = "Option::is_none")]
    pub other_method_description: Option<String>,
    /// `RachunekBankowy`.
    #[serde(rename = "bankAccounts", default, skip_serializing_if = "Vec::is_empty")]
    pub bank_accounts: Vec<BankAccount>,
    /// `RachunekBankowyFaktora`.
    #[serde(rename = "factorBankAccounts", default, skip_serializing_if = "Vec::is_empty")]
    pub factor_bank_accounts: Vec<BankAccount>,
    /// `Skonto`.
    #[serde(rename = "discountTerms", default, skip_serializing_if = "Option::is_none")]
    pub discount_terms: Option<DiscountTerm>,
}

/// `Faktura/Fa/WarunkiTransakcji/Umowy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// `DataUmowy` (TData).
    #[serde(rename = "date", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub date: Option<chrono::NaiveDate>,
    /// `NrUmowy` (TZnakowy).
    #[serde(rename = "number", default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// `Faktura/Fa/WarunkiTransakcji/Zamowienia`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionTermOrder {
    /// `DataZamowienia` (TData).
    #[serde(rename = "date", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub date: Option<chrono::NaiveDate>,
    /// `NrZamowienia` (TZnakowy).
    #[serde(rename = "number", default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// `Faktura/Fa/WarunkiTransakcji/Transport/Przewoznik`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    /// `DaneIdentyfikacyjne`.
    #[serde(rename = "identification")]
    pub identification: BuyerIdentification,
    /// `AdresPrzewoznika`.
    #[serde(rename = "carrierAddress")]
    pub carrier_address: Address,
}

/// `Faktura/Fa/WarunkiTransakcji/Transport`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    /// `RodzajTransportu` (TRodzajTransportu).
    #[serde(rename = "mode", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub mode: Option<i64>,
    /// `TransportInny` (TWybor1).
    #[serde(rename = "otherTransport", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub other_transport: Option<i8>,
    /// `OpisInnegoTransportu` (TZnakowy50).
    #[serde(rename = "otherTransportDescription", default, skip_serializing_if = "Option::is_none")]
    pub other_transport_description: Option<String>,
    /// `Przewoznik`.
    #[serde(rename = "carrier", default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    /// `NrZleceniaTransportu` (TZnakowy).
    #[serde(rename = "transportOrderNumber", default, skip_serializing_if = "Option::is_none")]
    pub transport_order_number: Option<String>,
    /// `OpisLadunku` (TLadunek).
    #[serde(rename = "cargo", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub cargo: Option<i64>,
    /// `LadunekInny` (TWybor1).
    #[serde(rename = "otherCargo", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub other_cargo: Option<i8>,
    /// `OpisInnegoLadunku` (TZnakowy50).
    #[serde(rename = "otherCargoDescription", default, skip_serializing_if = "Option::is_none")]
    pub other_cargo_description: Option<String>,
    /// `JednostkaOpakowania` (TZnakowy).
    #[serde(rename = "packagingUnit", default, skip_serializing_if = "Option::is_none")]
    pub packaging_unit: Option<String>,
    /// `DataGodzRozpTransportu` (TDataCzas).
    #[serde(rename = "transportStart", default, skip_serializing_if = "Option::is_none")]
    pub transport_start: Option<String>,
    /// `DataGodzZakTransportu` (TDataCzas).
    #[serde(rename = "transportEnd", default, skip_serializing_if = "Option::is_none")]
    pub transport_end: Option<String>,
    /// `WysylkaZ`.
    #[serde(rename = "shipFrom", default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<Address>,
    /// `WysylkaPrzez`.
    #[serde(rename = "shipVia", default, skip_serializing_if = "Vec::is_empty")]
    pub ship_via: Vec<Address>,
    /// `WysylkaDo`.
    #[serde(rename = "shipTo", default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<Address>,
}

/// `Faktura/Fa/WarunkiTransakcji`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionTerm {
    /// `Umowy`.
    #[serde(rename = "contracts", default, skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<Contract>,
    /// `Zamowienia`.
    #[serde(rename = "orders", default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<TransactionTermOrder>,
    /// `NrPartiiTowaru` (TZnakowy).
    #[serde(rename = "batchNumbers", default, skip_serializing_if = "Vec::is_empty")]
    pub batch_numbers: Vec<String>,
    /// `WarunkiDostawy` (TZnakowy).
    #[serde(rename = "deliveryTerms", default, skip_serializing_if = "Option::is_none")]
    pub delivery_terms: Option<String>,
    /// `KursUmowny` (TIlosci).
    #[serde(rename = "contractRate", default, skip_serializing_if = "Option::is_none")]
    pub contract_rate: Option<Decimal>,
    /// `WalutaUmowna` (TKodWaluty).
    #[serde(rename = "contractCurrency", default, skip_serializing_if = "Option::is_none")]
    pub contract_currency: Option<String>,
    /// `Transport`.
    #[serde(rename = "transport", default, skip_serializing_if = "Vec::is_empty")]
    pub transport: Vec<Transport>,
    /// `PodmiotPosredniczacy` (TWybor1).
    #[serde(rename = "intermediary", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub intermediary: Option<i8>,
}

/// `Faktura/Fa/Zamowienie/ZamowienieWiersz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// `NrWierszaZam` (TNaturalny).
    #[serde(rename = "number", with = "text::one")]
    pub number: u64,
    /// `UU_IDZ` (TZnakowy50).
    #[serde(rename = "uuid", default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `P_7Z` (TZnakowy).
    #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `IndeksZ` (TZnakowy50).
    #[serde(rename = "index", default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// `GTINZ` (TZnakowy20).
    #[serde(rename = "gtin", default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// `PKWiUZ` (TZnakowy50).
    #[serde(rename = "pkwiu", default, skip_serializing_if = "Option::is_none")]
    pub pkwiu: Option<String>,
    /// `CNZ` (TZnakowy50).
    #[serde(rename = "cn", default, skip_serializing_if = "Option::is_none")]
    pub cn: Option<String>,
    /// `PKOBZ` (TZnakowy50).
    #[serde(rename = "pkob", default, skip_serializing_if = "Option::is_none")]
    pub pkob: Option<String>,
    /// `P_8AZ` (TZnakowy).
    #[serde(rename = "unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `P_8BZ` (TIlosci).
    #[serde(rename = "quantity", default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `P_9AZ` (TKwotowy2).
    #[serde(rename = "unitNetPrice", default, skip_serializing_if = "Option::is_none")]
    pub unit_net_price: Option<Decimal>,
    /// `P_11NettoZ` (TKwotowy).
    #[serde(rename = "netAmount", default, skip_serializing_if = "Option::is_none")]
    pub net_amount: Option<Decimal>,
    /// `P_11VatZ` (TKwotowy).
    #[serde(rename = "vatAmount", default, skip_serializing_if = "Option::is_none")]
    pub vat_amount: Option<Decimal>,
    /// `P_12Z` (TStawkaPodatku).
    #[serde(rename = "rate", default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// `P_12Z_XII` (TProcentowy).
    #[serde(rename = "ossRate", default, skip_serializing_if = "Option::is_none")]
    pub oss_rate: Option<Decimal>,
    /// `P_12Z_Zal_15` (TWybor1).
    #[serde(rename = "annex15", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub annex15: Option<i8>,
    /// `GTUZ` (TGTU).
    #[serde(rename = "gtu", default, skip_serializing_if = "Option::is_none")]
    pub gtu: Option<String>,
    /// `ProceduraZ` (TOznaczenieProceduryZ).
    #[serde(rename = "procedure", default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// `KwotaAkcyzyZ` (TKwotowy).
    #[serde(rename = "exciseAmount", default, skip_serializing_if = "Option::is_none")]
    pub excise_amount: Option<Decimal>,
    /// `StanPrzedZ` (TWybor1).
    #[serde(rename = "before", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub before: Option<i8>,
}

/// `Faktura/Fa/Zamowienie`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// `WartoscZamowienia` (TKwotowy).
    #[serde(rename = "value")]
    pub value: Decimal,
    /// `ZamowienieWiersz`.
    #[serde(rename = "lines", default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<OrderLine>,
}

/// `Faktura/Fa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// `KodWaluty` (TKodWaluty).
    #[serde(rename = "currency")]
    pub currency: String,
    /// `P_1` (TDataT).
    #[serde(rename = "issueDate", with = "text::one")]
    pub issue_date: chrono::NaiveDate,
    /// `P_1M` (TZnakowy).
    #[serde(rename = "placeOfIssue", default, skip_serializing_if = "Option::is_none")]
    pub place_of_issue: Option<String>,
    /// `P_2` (TZnakowy).
    #[serde(rename = "number")]
    pub number: String,
    /// `WZ` (TZnakowy).
    #[serde(rename = "warehouseDocuments", default, skip_serializing_if = "Vec::is_empty")]
    pub warehouse_documents: Vec<String>,
    /// `P_6` (TDataT).
    #[serde(rename = "supplyDate", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub supply_date: Option<chrono::NaiveDate>,
    /// `OkresFa`.
    #[serde(rename = "period", default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// `P_13_1` (TKwotowy).
    #[serde(rename = "net23", default, skip_serializing_if = "Option::is_none")]
    pub net23: Option<Decimal>,
    /// `P_14_1` (TKwotowy).
    #[serde(rename = "vat23", default, skip_serializing_if = "Option::is_none")]
    pub vat23: Option<Decimal>,
    /// `P_14_1W` (TKwotowy).
    #[serde(rename = "vat23Pln", default, skip_serializing_if = "Option::is_none")]
    pub vat23_pln: Option<Decimal>,
    /// `P_13_2` (TKwotowy).
    #[serde(rename = "net8", default, skip_serializing_if = "Option::is_none")]
    pub net8: Option<Decimal>,
    /// `P_14_2` (TKwotowy).
    #[serde(rename = "vat8", default, skip_serializing_if = "Option::is_none")]
    pub vat8: Option<Decimal>,
    /// `P_14_2W` (TKwotowy).
    #[serde(rename = "vat8Pln", default, skip_serializing_if = "Option::is_none")]
    pub vat8_pln: Option<Decimal>,
    /// `P_13_3` (TKwotowy).
    #[serde(rename = "net5", default, skip_serializing_if = "Option::is_none")]
    pub net5: Option<Decimal>,
    /// `P_14_3` (TKwotowy).
    #[serde(rename = "vat5", default, skip_serializing_if = "Option::is_none")]
    pub vat5: Option<Decimal>,
    /// `P_14_3W` (TKwotowy).
    #[serde(rename = "vat5Pln", default, skip_serializing_if = "Option::is_none")]
    pub vat5_pln: Option<Decimal>,
    /// `P_13_4` (TKwotowy).
    #[serde(rename = "netTaxi", default, skip_serializing_if = "Option::is_none")]
    pub net_taxi: Option<Decimal>,
    /// `P_14_4` (TKwotowy).
    #[serde(rename = "vatTaxi", default, skip_serializing_if = "Option::is_none")]
    pub vat_taxi: Option<Decimal>,
    /// `P_14_4W` (TKwotowy).
    #[serde(rename = "vatTaxiPln", default, skip_serializing_if = "Option::is_none")]
    pub vat_taxi_pln: Option<Decimal>,
    /// `P_13_5` (TKwotowy).
    #[serde(rename = "netOss", default, skip_serializing_if = "Option::is_none")]
    pub net_oss: Option<Decimal>,
    /// `P_14_5` (TKwotowy).
    #[serde(rename = "vatOss", default, skip_serializing_if = "Option::is_none")]
    pub vat_oss: Option<Decimal>,
    /// `P_13_6_1` (TKwotowy).
    #[serde(rename = "net0Domestic", default, skip_serializing_if = "Option::is_none")]
    pub net0_domestic: Option<Decimal>,
    /// `P_13_6_2` (TKwotowy).
    #[serde(rename = "net0IntraEu", default, skip_serializing_if = "Option::is_none")]
    pub net0_intra_eu: Option<Decimal>,
    /// `P_13_6_3` (TKwotowy).
    #[serde(rename = "net0Export", default, skip_serializing_if = "Option::is_none")]
    pub net0_export: Option<Decimal>,
    /// `P_13_7` (TKwotowy).
    #[serde(rename = "netExempt", default, skip_serializing_if = "Option::is_none")]
    pub net_exempt: Option<Decimal>,
    /// `P_13_8` (TKwotowy).
    #[serde(rename = "netOutsidePoland", default, skip_serializing_if = "Option::is_none")]
    pub net_outside_poland: Option<Decimal>,
    /// `P_13_9` (TKwotowy).
    #[serde(rename = "netEuServices", default, skip_serializing_if = "Option::is_none")]
    pub net_eu_services: Option<Decimal>,
    /// `P_13_10` (TKwotowy).
    #[serde(rename = "netReverseCharge", default, skip_serializing_if = "Option::is_none")]
    pub net_reverse_charge: Option<Decimal>,
    /// `P_13_11` (TKwotowy).
    #[serde(rename = "netMargin", default, skip_serializing_if = "Option::is_none")]
    pub net_margin: Option<Decimal>,
    /// `P_15` (TKwotowy).
    #[serde(rename = "total")]
    pub total: Decimal,
    /// `KursWalutyZ` (TIlosci).
    #[serde(rename = "advanceExchangeRate", default, skip_serializing_if = "Option::is_none")]
    pub advance_exchange_rate: Option<Decimal>,
    /// `Adnotacje`.
    #[serde(rename = "annotations")]
    pub annotations: Annotation,
    /// `RodzajFaktury` (TRodzajFaktury).
    #[serde(rename = "kind")]
    pub kind: String,
    /// `PrzyczynaKorekty` (TZnakowy).
    #[serde(rename = "correctionReason", default, skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
    /// `TypKorekty` (TTypKorekty).
    #[serde(rename = "correctionType", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub correction_type: Option<i64>,
    /// `DaneFaKorygowanej`.
    #[serde(rename = "correctedInvoices", default, skip_serializing_if = "Vec::is_empty")]
    pub corrected_invoices: Vec<CorrectedInvoice>,
    /// `OkresFaKorygowanej` (TZnakowy).
    #[serde(rename = "correctedPeriod", default, skip_serializing_if = "Option::is_none")]
    pub corrected_period: Option<String>,
    /// `NrFaKorygowany` (TZnakowy).
    #[serde(rename = "correctNumber", default, skip_serializing_if = "Option::is_none")]
    pub correct_number: Option<String>,
    /// `Podmiot1K`.
    #[serde(rename = "sellerBefore", default, skip_serializing_if = "Option::is_none")]
    pub seller_before: Option<SellerBefore>,
    /// `Podmiot2K`.
    #[serde(rename = "buyersBefore", default, skip_serializing_if = "Vec::is_empty")]
    pub buyers_before: Vec<BuyersBefore>,
    /// `P_15ZK` (TKwotowy).
    #[serde(rename = "totalBefore", default, skip_serializing_if = "Option::is_none")]
    pub total_before: Option<Decimal>,
    /// `KursWalutyZK` (TIlosci).
    #[serde(rename = "advanceExchangeRateBefore", default, skip_serializing_if = "Option::is_none")]
    pub advance_exchange_rate_before: Option<Decimal>,
    /// `ZaliczkaCzesciowa`.
    #[serde(rename = "partialAdvances", default, skip_serializing_if = "Vec::is_empty")]
    pub partial_advances: Vec<PartialAdvance>,
    /// `FP` (TWybor1).
    #[serde(rename = "receiptInvoice", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub receipt_invoice: Option<i8>,
    /// `TP` (TWybor1).
    #[serde(rename = "relatedParties", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub related_parties: Option<i8>,
    /// `DodatkowyOpis`.
    #[serde(rename = "additionalInfo", default, skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<AdditionalInfo>,
    /// `FakturaZaliczkowa`.
    #[serde(rename = "advanceInvoices", default, skip_serializing_if = "Vec::is_empty")]
    pub advance_invoices: Vec<AdvanceInvoice>,
    /// `ZwrotAkcyzy` (TWybor1).
    #[serde(rename = "exciseRefund", default, skip_serializing_if = "Option::is_none", with = "text::optional")]
    pub excise_refund: Option<i8>,
    /// `FaWiersz`.
    #[serde(rename = "lines", default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Line>,
    /// `Rozliczenie`.
    #[serde(rename = "settlement", default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<Settlement>,
    /// `Platnosc`.
    #[serde(rename = "payment", default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// `WarunkiTransakcji`.
    #[serde(rename = "transactionTerms", default, skip_serializing_if = "Option::is_none")]
    pub transaction_terms: Option<TransactionTerm>,
    /// `Zamowienie`.
    #[serde(rename = "order", default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
}

/// `Faktura/Stopka/Informacje`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// `StopkaFaktury` (TTekstowy).
    #[serde(rename = "text", default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `Faktura/Stopka/Rejestry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// `PelnaNazwa` (TZnakowy).
    #[serde(rename = "fullName", default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// `KRS` (TNrKRS).
    #[serde(rename = "krs", default, skip_serializing_if = "Option::is_none")]
    pub krs: Option<String>,
    /// `REGON` (TNrREGON).
    #[serde(rename = "regon", default, skip_serializing_if = "Option::is_none")]
    pub regon: Option<String>,
    /// `BDO`.
    #[serde(rename = "bdo", default, skip_serializing_if = "Option::is_none")]
    pub bdo: Option<String>,
}

/// `Faktura/Stopka`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Footer {
    /// `Informacje`.
    #[serde(rename = "notes", default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// `Rejestry`.
    #[serde(rename = "registers", default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<Register>,
}

/// `Faktura`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faktura {
    /// `Naglowek`.
    #[serde(rename = "header")]
    pub header: Header,
    /// `Podmiot1`.
    #[serde(rename = "seller")]
    pub seller: Seller,
    /// `Podmiot2`.
    #[serde(rename = "buyer")]
    pub buyer: Buyer,
    /// `Podmiot3`.
    #[serde(rename = "otherParties", default, skip_serializing_if = "Vec::is_empty")]
    pub other_parties: Vec<OtherParty>,
    /// `PodmiotUpowazniony`.
    #[serde(rename = "authorizedParty", default, skip_serializing_if = "Option::is_none")]
    pub authorized_party: Option<AuthorizedParty>,
    /// `Fa`.
    #[serde(rename = "invoice")]
    pub invoice: Invoice,
    /// `Stopka`.
    #[serde(rename = "footer", default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
}
