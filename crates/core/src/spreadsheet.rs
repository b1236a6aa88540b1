//! Spreadsheet-safe CSV cells (OWASP "CSV injection"): a spreadsheet opening a CSV file runs a
//! cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or carriage return) as a
//! formula, so a part unit `=HYPERLINK(…)` written by an import would become a live link or
//! worse in the planner's spreadsheet. [`escape_formula`] prefixes such a cell with `'`, which
//! spreadsheets show as the text it was; numbers, negative ones included, are left as numbers.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula (OWASP's list).
pub const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell` is a plain, finite decimal number (`12`, `-3.5`, `+0.25`, `.5`, `1e-7`; Rust's
/// own float syntax, no blanks): such a cell is a value, never a formula, and stays as it is.
pub fn is_plain_number(cell: &str) -> bool {
    cell.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The cell as a spreadsheet should receive it: prefixed with `'` when it starts with one of
/// [`FORMULA_TRIGGERS`] and is not a plain number; unchanged otherwise.
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_prefixed_with_a_quote() {
        for cell in ["=HYPERLINK(\"http://x\",\"pcs\")", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\r=1", "-"]
        {
            assert_eq!(escape_formula(cell), format!("'{cell}"), "{cell:?}");
        }
        assert_eq!(escape_formula("-inf"), "'-inf", "not a number a spreadsheet reads");
    }

    #[test]
    fn numbers_and_ordinary_text_stay_as_they_are() {
        for cell in
            ["12", "-3.5", "+0.25", "-.5", "1e-7", "-2E+3", "pcs", "", "a=b", " =1", "BRG-6204", "2026-11-20T10:00:00Z"]
        {
            assert!(matches!(escape_formula(cell), Cow::Borrowed(_)), "{cell:?}");
        }
    }

    #[test]
    fn plain_numbers() {
        for yes in ["0", "-0", "12.", ".5", "-1.25e10", "+7"] {
            assert!(is_plain_number(yes), "{yes}");
        }
        for no in ["", "-", ".", "-.", "1e", "e5", "1.2.3", "--1", "-1-1", "1e+", "NaN", "-inf", "0x10", "1 "] {
            assert!(!is_plain_number(no), "{no}");
        }
    }
}
