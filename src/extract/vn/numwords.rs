//! Numbers written in Vietnamese words, as on civil-status forms ("hai mươi lăm", "hai nghìn không
//! trăm hai mươi"), from 0 to 9999.

use crate::extract::fold::fold;

fn digit(w: &str) -> Option<u32> {
    Some(match w {
        "khong" => 0,
        "mot" | "mot1" => 1,
        "hai" => 2,
        "ba" => 3,
        "bon" | "tu" => 4,
        "nam" | "lam" => 5,
        "sau" => 6,
        "bay" => 7,
        "tam" => 8,
        "chin" => 9,
        _ => return None,
    })
}

/// The number spelled by `words` (folded or not); `None` if any word is not a number word.
pub fn parse_number(words: &[&str]) -> Option<u32> {
    let (mut total, mut group, mut pending): (u32, u32, Option<u32>) = (0, 0, None);
    let mut any = false;
    for w in words {
        let w = fold(w);
        match w.as_str() {
            "" => continue,
            // "mồng"/"mùng" precede days 1–10; "linh"/"lẻ" mark an empty tens place.
            "mong" | "mung" | "linh" | "le" => {}
            "muoi" => {
                group += pending.take().unwrap_or(1) * 10;
            }
            "tram" => {
                group += pending.take()? * 100;
            }
            "nghin" | "ngan" => {
                total += (group + pending.take().unwrap_or(0)).max(1) * 1000;
                group = 0;
            }
            _ => {
                let d = digit(&w)?;
                if pending.is_some() {
                    return None;
                }
                pending = Some(d);
            }
        }
        any = true;
    }
    any.then(|| total + group + pending.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<u32> {
        parse_number(&s.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn spelled_numbers() {
        assert_eq!(n("hai mươi lăm"), Some(25));
        assert_eq!(n("mười lăm"), Some(15));
        assert_eq!(n("mồng bảy"), Some(7));
        assert_eq!(n("ba mươi mốt"), Some(31));
        assert_eq!(n("hai mươi tư"), Some(24));
        assert_eq!(n("hai nghìn không trăm hai mươi"), Some(2020));
        assert_eq!(n("một nghìn chín trăm tám mươi sáu"), Some(1986));
        assert_eq!(n("hai nghìn không trăm linh năm"), Some(2005));
    }

    #[test]
    fn not_numbers() {
        assert_eq!(n(""), None);
        assert_eq!(n("hai ba"), None);
        assert_eq!(n("tháng"), None);
        assert_eq!(n("trăm"), None);
    }
}
