//! Closed lists: province codes that begin a personal ID, the 54 recognised ethnic groups.

/// Province codes of the 12-digit personal ID (Circular 07/2016/TT-BCA), with the province. The
/// 2025 merger into 34 provinces does not reissue IDs, so every one of the 63 codes stays valid.
pub const PROVINCES: &[(&str, &str)] = &[
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

/// The 54 ethnic groups (Decision 121-TCTK/PPCĐ), canonical spelling first, then spellings seen
/// on forms that mean the same group.
pub const ETHNIC_GROUPS: &[&[&str]] = &[
    &["Kinh", "Việt"],
    &["Tày"],
    &["Thái"],
    &["Mường"],
    &["Khmer", "Khơ Me", "Khơ-me"],
    &["Hoa"],
    &["Nùng"],
    &["H'Mông", "Mông", "Hmông", "HMông"],
    &["Dao"],
    &["Gia Rai", "Gia-rai", "Jrai"],
    &["Ê Đê", "Ê-đê"],
    &["Ba Na", "Ba-na"],
    &["Xơ Đăng", "Xơ-đăng"],
    &["Sán Chay"],
    &["Cơ Ho", "Cơ-ho"],
    &["Chăm"],
    &["Sán Dìu"],
    &["Hrê", "H're"],
    &["Ra Glai", "Raglai"],
    &["Mnông", "M'Nông"],
    &["Thổ"],
    &["Xtiêng", "X'Tiêng"],
    &["Khơ Mú", "Khơ-mú"],
    &["Bru - Vân Kiều", "Bru-Vân Kiều", "Vân Kiều"],
    &["Cơ Tu", "Cơ-tu"],
    &["Giáy"],
    &["Tà Ôi", "Tà-ôi"],
    &["Mạ"],
    &["Giẻ Triêng", "Giẻ-Triêng"],
    &["Co"],
    &["Chơ Ro", "Chơ-ro"],
    &["Xinh Mun", "Xinh-mun"],
    &["Hà Nhì"],
    &["Chu Ru", "Chu-ru"],
    &["Lào"],
    &["La Chí"],
    &["Kháng"],
    &["Phù Lá"],
    &["La Hủ"],
    &["La Ha"],
    &["Pà Thẻn"],
    &["Lự"],
    &["Ngái"],
    &["Chứt"],
    &["Lô Lô"],
    &["Mảng"],
    &["Cơ Lao"],
    &["Bố Y"],
    &["Cống"],
    &["Si La"],
    &["Pu Péo"],
    &["Rơ Măm"],
    &["Brâu"],
    &["Ơ Đu"],
];

/// Family names (họ) in common use; a first syllable that equals one of them without diacritics
/// gets that one's marks back (OCR confuses marks on capitals: ĐỊNH for ĐINH).
pub const SURNAMES: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Đoàn", "Trịnh", "Lâm", "Mai", "Trương", "Đào", "Cao",
    "Lưu", "Tạ", "Hà", "Tô", "Chu", "Châu", "Quách", "Lương", "Tăng", "Thái", "Kiều", "Tôn", "Lại",
    "Mạc", "Khổng", "Vương", "Triệu", "Đàm", "Kim", "La", "Nghiêm", "Phùng", "Thân", "Từ", "Lục",
    "Âu", "Diệp", "Giang", "Hứa", "Khúc", "Mã", "Ninh", "Tống", "Vi", "Ông", "Bạch", "Bế", "Cù",
    "Doãn", "Hàn", "Lò", "Nông", "Phí", "Sầm", "Thạch", "Trình", "Viên", "Lã", "Lữ", "Hầu", "Tiêu",
    "Ứng",
];

pub const SEXES: &[&[&str]] = &[&["Nam", "Male"], &["Nữ", "Female"]];

/// How a declarant is related to the person a civil-status paper is about (the child, the
/// deceased, the person whose marital status is certified): kin terms, southern ones too (`Ba`,
/// `Má`). `Ba` (father) and `Bà` (grandmother) differ only by a mark, so neither is repaired to
/// the other.
pub const RELATIONS: &[&[&str]] = &[
    &["Cha"],
    &["Bố"],
    &["Ba"],
    &["Mẹ"],
    &["Má"],
    &["Ông"],
    &["Bà"],
    &["Ông nội"],
    &["Bà nội"],
    &["Ông ngoại"],
    &["Bà ngoại"],
    &["Anh"],
    &["Chị"],
    &["Em"],
    &["Anh trai"],
    &["Chị gái"],
    &["Em trai"],
    &["Em gái"],
    &["Cô"],
    &["Dì"],
    &["Chú"],
    &["Bác"],
    &["Cậu"],
    &["Mợ"],
    &["Thím"],
    &["Con"],
    &["Con trai"],
    &["Con gái"],
    &["Con dâu"],
    &["Con rể"],
    &["Cháu"],
    &["Cháu nội"],
    &["Cháu ngoại"],
    &["Vợ"],
    &["Chồng"],
    &["Bản thân"],
    &["Người giám hộ"],
];

/// Nationalities a civil-status form of a commune office states; others stay unchecked.
pub const NATIONALITIES: &[&[&str]] = &[&["Việt Nam", "Vietnamese", "Viet Nam"]];

pub fn province(code: &str) -> Option<&'static str> {
    PROVINCES.iter().find(|(c, _)| *c == code).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_complete_and_unique() {
        assert_eq!(PROVINCES.len(), 63);
        assert_eq!(ETHNIC_GROUPS.len(), 54);
        let mut codes: Vec<_> = PROVINCES.iter().map(|(c, _)| *c).collect();
        codes.dedup();
        assert_eq!(codes.len(), 63, "codes sorted and unique");
        assert_eq!(province("048"), Some("Đà Nẵng"));
        assert_eq!(province("003"), None);
    }
}
