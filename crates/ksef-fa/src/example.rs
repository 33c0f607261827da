//! A small valid FA(3) invoice to fill in: one 23% line of 100.00 PLN, for demos, tests and benchmarks.

/// A schema-valid FA(3) VAT invoice from `seller` to `buyer` (both NIPs), numbered `number`, issued on
/// `issue_date` (`YYYY-MM-DD`), with `lines` lines of 100.00 net at 23% (totals computed; at least one line).
pub fn invoice(seller: &str, buyer: &str, number: &str, issue_date: &str, lines: usize) -> String {
    let lines = lines.max(1);
    let net = 100 * lines;
    let vat = 23 * lines;
    let mut rows = String::with_capacity(lines * 200);
    for n in 1..=lines {
        rows.push_str(&format!(
            "<FaWiersz><NrWierszaFa>{n}</NrWierszaFa><P_7>Usługa {n}</P_7><P_8A>szt.</P_8A><P_8B>1</P_8B><P_9A>100.00</P_9A><P_11>100.00</P_11><P_12>23</P_12></FaWiersz>"
        ));
    }
    let number = number.replace('&', "&amp;").replace('<', "&lt;");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza><WariantFormularza>3</WariantFormularza><DataWytworzeniaFa>2026-01-01T00:00:00Z</DataWytworzeniaFa></Naglowek><Podmiot1><DaneIdentyfikacyjne><NIP>{seller}</NIP><Nazwa>Sprzedawca</Nazwa></DaneIdentyfikacyjne><Adres><KodKraju>PL</KodKraju><AdresL1>ul. A 1</AdresL1></Adres></Podmiot1><Podmiot2><DaneIdentyfikacyjne><NIP>{buyer}</NIP><Nazwa>Nabywca</Nazwa></DaneIdentyfikacyjne><Adres><KodKraju>PL</KodKraju><AdresL1>ul. B 2</AdresL1></Adres><JST>2</JST><GV>2</GV></Podmiot2><Fa><KodWaluty>PLN</KodWaluty><P_1>{issue_date}</P_1><P_2>{number}</P_2><P_13_1>{net}.00</P_13_1><P_14_1>{vat}.00</P_14_1><P_15>{}.00</P_15><Adnotacje><P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A><Zwolnienie><P_19N>1</P_19N></Zwolnienie><NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu><P_23>2</P_23><PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy></Adnotacje><RodzajFaktury>VAT</RodzajFaktury>{rows}</Fa></Faktura>
"#,
        net + vat
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_invoice_is_valid_with_one_line_or_many() {
        for lines in [1, 40] {
            let xml = super::invoice("5265877635", "1111111111", "FV/1 & <2>", "2026-11-25", lines);
            let report = crate::check(xml.as_bytes(), &crate::rules::Options::default());
            assert!(report.findings.is_empty(), "{:?}", report.findings);
        }
    }
}
