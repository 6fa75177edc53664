#!/usr/bin/env python3
"""Typed declaration forms in many typefaces: a generalization test set for field extraction.

  forms.py OUT_DIR [--seed N] [--per-type K] [--negatives N]

The dev corpus (../shared/corpus/dev) prints every form in two faces: labels in Liberation Serif,
values in DejaVu Sans. Field extraction is tuned on it. This script fills forms with random but
consistent Vietnamese data and prints each page with labels in one face and values in another
(another family, or the same family in italic or bold; values 0.9–1.25× the label size), then
delivers it like a commune office gets it. OUT_DIR/tune/ and OUT_DIR/heldout/ each get images and a
truth.jsonl in the corpus format. Deterministic for a seed and the same installed fonts; K pages per
document type and layout (default 6, one per profile) and N negatives (default 4) per split.

Fonts (Debian packages: run benches/forms-fonts.sh). Faces are listed by file below, grouped by
family and kind. Every face is checked to have a glyph for every character this script can draw
(the Vietnamese alphabet in both cases, digits, punctuation; with fontTools' cmap when it is
installed, else Pillow's mask of each character against .notdef); faces that fail are dropped, and
a family without a regular face is dropped. With the packages of Debian 12 that drops Caladea, Hack
and DejaVu Sans Mono (no Vietnamese beyond Latin-1 or no stacked marks) and EB Garamond's bold; the
URW base35 fonts (Nimbus, P052, …) fail the same check and are not listed.

The split into `tune` and `heldout` families is fixed here, not random. Faces that share outlines
stay on one side: Liberation 2 and croscore (Tinos, Arimo, Cousine) are the same design, the dev
corpus prints its labels in Liberation Serif and the real corpus renders Times/Arial with Liberation,
so they are tune; FreeFont, the URW fonts and TeX Gyre all descend from URW's Nimbus/base35 and are
held out together; Noto Sans descends from Open Sans (both tune); Gentium Plus and Gentium Book
Plus are one design (held out).

  tune     serif: Liberation Serif, Tinos, DejaVu Serif, Noto Serif, Charis SIL, EB Garamond
           sans:  Liberation Sans, Arimo, DejaVu Sans, Noto Sans, Open Sans, Roboto
           mono:  Liberation Mono, Cousine, Noto Sans Mono, Noto Mono
  heldout  serif: TeX Gyre Termes, FreeSerif, Gentium Plus, Gentium Book Plus, TeX Gyre Pagella,
                  TeX Gyre Bonum, TeX Gyre Schola
           sans:  TeX Gyre Heros, FreeSans, Lato, Inter, Andika, TeX Gyre Adventor
           mono:  TeX Gyre Cursor, FreeMono, JetBrains Mono

Nothing may be tuned on `heldout`. A page takes its label and value faces from its own split
(truth: `label_font` = the label family's regular face, bold and italic labels use the same family;
`value_font` = the one face all values are printed in; `font_split`).

Documents (truth `doc_type`, `layout`):
  birth_declaration     `dev`: one label per line, values after the labels (like dev-001);
                        `tt04`: the form of Thông tư 04/2020/TT-BTP as in real-047 (footnote
                        markers, Giới tính/Dân tộc/Quốc tịch on one line, Giấy tờ tùy thân, cha
                        then mẹ, addresses on two dotted lines, ghi bằng chữ wrapping, Làm tại).
                        Fields as in the dev truth and as in the real truth respectively.
  marriage_declaration  `dev` (like dev-002: wife.*, husband.*).
  cccd                  `card`: front of the chip ID card (like dev-003), 600 dpi.
  death_declaration     `tt04`: Tờ khai đăng ký khai tử (requester.*, deceased.*, death.date,
                        death.place, death.cause, signed_at).
  marital_status_declaration `tt04`: Tờ khai cấp Giấy xác nhận tình trạng hôn nhân (requester.*,
                        person.*, person.marital_status, purpose, signed_at).
  form                  negatives with many of the same labels and no model: `lien_thong`
                        (khai sinh + thường trú + thẻ BHYT cho trẻ em dưới 6 tuổi), `giam_ho`,
                        `nhan_cha_me_con`, `trich_luc`; no fields, to be classified as no model.
Values are filled two ways (`fill`): `flow` (a value pushes the dotted leader to its right, as a
program fills a form) and `overlay` (labels and dotted leaders are pre-printed, the value is typed
over the dots, its baseline on or a few px above them). Truth follows the corpora: names upper case
NFC, dates dd/mm/yyyy, sex Nam/Nữ, ethnic groups by their canonical names, 12-digit IDs whose
province code, century/sex digit and year digits agree with the person; `text` is the page line by
line with leaders as the dots printed.

Profiles (each page one; truth `profile`, `dpi`, `ydpi`, `orientation`, `skew_deg`, like the dev
corpus): clean (300 dpi gray PNG), scan (200–300 dpi gray JPEG, skew ±2.5°, noise), fax (200×200 or
200×100 dpi bilevel CCITT G4 TIFF), phone (150–200 dpi colour JPEG, rotation ±5°, uneven light,
colour cast, blur, desk around the page), stamp (red round seal with ring lettering over the
signature block, colour JPEG), upside (turned 90/180/270: `orientation` is the turn to undo, as in
dev-006/dev-033). ID cards get clean, scan (200–600 dpi), phone (330–400 dpi) and upside. Files are
named gen-NNN-<doc_type>-<profile>.<ext>. Needs Pillow (fontTools optional).
"""
import argparse
import datetime
import json
import math
import os
import random
import sys
import unicodedata

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

try:
    from fontTools.ttLib import TTFont
except ImportError:  # the Pillow check below does the same job, slower
    TTFont = None

# ---------------------------------------------------------------------------------------- fonts

TT = "/usr/share/fonts/truetype/"
OT = "/usr/share/fonts/opentype/"
GY = "/usr/share/texmf/fonts/opentype/public/tex-gyre/"


def faces(d, regular, italic=None, bold=None, bold_italic=None):
    styles = (("Regular", regular), ("Italic", italic), ("Bold", bold), ("Bold Italic", bold_italic))
    return {k: d + v for k, v in styles if v}


def gyre(name):
    return faces(GY, f"texgyre{name}-regular.otf", f"texgyre{name}-italic.otf",
                 f"texgyre{name}-bold.otf", f"texgyre{name}-bolditalic.otf")


LIB2, CROS, DJV, NOTO = TT + "liberation2/", TT + "croscore/", TT + "dejavu/", TT + "noto/"
# (family, kind, split, Debian package, faces by style)
FAMILIES = [
    # tune: the dev corpus' faces, their twins, and others
    ("Liberation Serif", "serif", "tune", "fonts-liberation2",
     faces(LIB2, "LiberationSerif-Regular.ttf", "LiberationSerif-Italic.ttf",
           "LiberationSerif-Bold.ttf", "LiberationSerif-BoldItalic.ttf")),
    ("Tinos", "serif", "tune", "fonts-croscore",
     faces(CROS, "Tinos-Regular.ttf", "Tinos-Italic.ttf", "Tinos-Bold.ttf", "Tinos-BoldItalic.ttf")),
    ("DejaVu Serif", "serif", "tune", "fonts-dejavu-core fonts-dejavu-extra",
     faces(DJV, "DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-Bold.ttf",
           "DejaVuSerif-BoldItalic.ttf")),
    ("Noto Serif", "serif", "tune", "fonts-noto-core",
     faces(NOTO, "NotoSerif-Regular.ttf", "NotoSerif-Italic.ttf", "NotoSerif-Bold.ttf",
           "NotoSerif-BoldItalic.ttf")),
    ("Charis SIL", "serif", "tune", "fonts-sil-charis",
     faces(TT + "charis/", "CharisSIL-Regular.ttf", "CharisSIL-Italic.ttf", "CharisSIL-Bold.ttf",
           "CharisSIL-BoldItalic.ttf")),
    ("EB Garamond", "serif", "tune", "fonts-ebgaramond",
     faces(OT + "ebgaramond/", "EBGaramond12-Regular.otf", "EBGaramond12-Italic.otf",
           "EBGaramond12-Bold.otf")),
    ("Liberation Sans", "sans", "tune", "fonts-liberation2",
     faces(LIB2, "LiberationSans-Regular.ttf", "LiberationSans-Italic.ttf",
           "LiberationSans-Bold.ttf", "LiberationSans-BoldItalic.ttf")),
    ("Arimo", "sans", "tune", "fonts-croscore",
     faces(CROS, "Arimo-Regular.ttf", "Arimo-Italic.ttf", "Arimo-Bold.ttf", "Arimo-BoldItalic.ttf")),
    ("DejaVu Sans", "sans", "tune", "fonts-dejavu-core fonts-dejavu-extra",
     faces(DJV, "DejaVuSans.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-Bold.ttf",
           "DejaVuSans-BoldOblique.ttf")),
    ("Noto Sans", "sans", "tune", "fonts-noto-core",
     faces(NOTO, "NotoSans-Regular.ttf", "NotoSans-Italic.ttf", "NotoSans-Bold.ttf",
           "NotoSans-BoldItalic.ttf")),
    ("Open Sans", "sans", "tune", "fonts-open-sans",
     faces(TT + "open-sans/", "OpenSans-Regular.ttf", "OpenSans-Italic.ttf", "OpenSans-Bold.ttf",
           "OpenSans-BoldItalic.ttf")),
    ("Roboto", "sans", "tune", "fonts-roboto-unhinted",
     faces(TT + "roboto/unhinted/RobotoTTF/", "Roboto-Regular.ttf", "Roboto-Italic.ttf",
           "Roboto-Bold.ttf", "Roboto-BoldItalic.ttf")),
    ("Liberation Mono", "mono", "tune", "fonts-liberation2",
     faces(LIB2, "LiberationMono-Regular.ttf", "LiberationMono-Italic.ttf",
           "LiberationMono-Bold.ttf", "LiberationMono-BoldItalic.ttf")),
    ("Cousine", "mono", "tune", "fonts-croscore",
     faces(CROS, "Cousine-Regular.ttf", "Cousine-Italic.ttf", "Cousine-Bold.ttf",
           "Cousine-BoldItalic.ttf")),
    ("Noto Sans Mono", "mono", "tune", "fonts-noto-mono",
     faces(NOTO, "NotoSansMono-Regular.ttf", None, "NotoSansMono-Bold.ttf")),
    ("Noto Mono", "mono", "tune", "fonts-noto-mono", faces(NOTO, "NotoMono-Regular.ttf")),
    ("DejaVu Sans Mono", "mono", "tune", "fonts-dejavu-core fonts-dejavu-extra",
     faces(DJV, "DejaVuSansMono.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-Bold.ttf",
           "DejaVuSansMono-BoldOblique.ttf")),
    ("Hack", "mono", "tune", "fonts-hack",
     faces(TT + "hack/", "Hack-Regular.ttf", "Hack-Italic.ttf", "Hack-Bold.ttf",
           "Hack-BoldItalic.ttf")),
    # heldout
    ("TeX Gyre Termes", "serif", "heldout", "fonts-texgyre", gyre("termes")),
    ("FreeSerif", "serif", "heldout", "fonts-freefont-ttf",
     faces(TT + "freefont/", "FreeSerif.ttf", "FreeSerifItalic.ttf", "FreeSerifBold.ttf",
           "FreeSerifBoldItalic.ttf")),
    ("Gentium Plus", "serif", "heldout", "fonts-sil-gentiumplus",
     faces(TT + "gentiumplus/", "GentiumPlus-Regular.ttf", "GentiumPlus-Italic.ttf",
           "GentiumPlus-Bold.ttf", "GentiumPlus-BoldItalic.ttf")),
    ("Gentium Book Plus", "serif", "heldout", "fonts-sil-gentiumplus",
     faces(TT + "gentiumplus/", "GentiumBookPlus-Regular.ttf", "GentiumBookPlus-Italic.ttf",
           "GentiumBookPlus-Bold.ttf", "GentiumBookPlus-BoldItalic.ttf")),
    ("TeX Gyre Pagella", "serif", "heldout", "fonts-texgyre", gyre("pagella")),
    ("TeX Gyre Bonum", "serif", "heldout", "fonts-texgyre", gyre("bonum")),
    ("TeX Gyre Schola", "serif", "heldout", "fonts-texgyre", gyre("schola")),
    ("Caladea", "serif", "heldout", "fonts-crosextra-caladea",
     faces(TT + "crosextra/", "Caladea-Regular.ttf", "Caladea-Italic.ttf", "Caladea-Bold.ttf",
           "Caladea-BoldItalic.ttf")),
    ("TeX Gyre Heros", "sans", "heldout", "fonts-texgyre", gyre("heros")),
    ("FreeSans", "sans", "heldout", "fonts-freefont-ttf",
     faces(TT + "freefont/", "FreeSans.ttf", "FreeSansOblique.ttf", "FreeSansBold.ttf",
           "FreeSansBoldOblique.ttf")),
    ("Lato", "sans", "heldout", "fonts-lato",
     faces(TT + "lato/", "Lato-Regular.ttf", "Lato-Italic.ttf", "Lato-Bold.ttf", "Lato-BoldItalic.ttf")),
    ("Inter", "sans", "heldout", "fonts-inter",
     faces(OT + "inter/", "Inter-Regular.otf", "Inter-Italic.otf", "Inter-Bold.otf",
           "Inter-BoldItalic.otf")),
    ("Andika", "sans", "heldout", "fonts-sil-andika",
     faces(TT + "andika/", "Andika-Regular.ttf", "Andika-Italic.ttf", "Andika-Bold.ttf",
           "Andika-BoldItalic.ttf")),
    ("TeX Gyre Adventor", "sans", "heldout", "fonts-texgyre", gyre("adventor")),
    ("TeX Gyre Cursor", "mono", "heldout", "fonts-texgyre", gyre("cursor")),
    ("FreeMono", "mono", "heldout", "fonts-freefont-ttf",
     faces(TT + "freefont/", "FreeMono.ttf", "FreeMonoOblique.ttf", "FreeMonoBold.ttf",
           "FreeMonoBoldOblique.ttf")),
    ("JetBrains Mono", "mono", "heldout", "fonts-jetbrains-mono",
     faces(TT + "jetbrains-mono/", "JetBrainsMono-Regular.ttf", "JetBrainsMono-Italic.ttf",
           "JetBrainsMono-Bold.ttf", "JetBrainsMono-BoldItalic.ttf")),
]

VI_LOWER = ("aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrs"
            "tuùúủũụưừứửữựvwxyỳýỷỹỵz")
# Every character this script draws; draw() refuses any other, so the coverage check is complete.
CHARSET = set(VI_LOWER + VI_LOWER.upper() + "0123456789 .,:;/()-'\"…–")


def missing_glyphs(path):
    chars = sorted(c for c in CHARSET if not c.isspace())
    if TTFont is not None:
        cmap = TTFont(path, lazy=True, fontNumber=0).getBestCmap() or {}
        return [c for c in chars if ord(c) not in cmap]
    f = ImageFont.truetype(path, 48, layout_engine=ImageFont.Layout.BASIC)
    nd = f.getmask("\uffff")
    notdef = (nd.size, bytes(nd))
    out = []
    for c in chars:
        m = f.getmask(c)
        if 0 in m.size or (m.size, bytes(m)) == notdef:
            out.append(c)
    return out


def load_families():
    """Families usable here: {split: [family dict]}; exits naming the package of a missing file."""
    missing = {}
    usable = {"tune": [], "heldout": []}
    dropped = []
    for name, kind, split, pkg, styles in FAMILIES:
        ok = {}
        for style, path in styles.items():
            if not os.path.exists(path):
                missing.setdefault(pkg, []).append(path)
                continue
            gaps = missing_glyphs(path)
            if gaps:
                dropped.append(f"{name} {style} (no {''.join(gaps[:8])}{'…' if len(gaps) > 8 else ''})")
            else:
                ok[style] = path
        if "Regular" in ok:
            usable[split].append({"name": name, "kind": kind, "split": split, "faces": ok})
    if missing:
        for pkg, paths in missing.items():
            print(f"forms.py: missing {paths[0]}" + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")
                  + f" (Debian package {pkg})", file=sys.stderr)
        sys.exit("forms.py: fonts missing: run `bash benches/forms-fonts.sh` (installs "
                 + " ".join(sorted({p for k in missing for p in k.split()})) + ")")
    print("faces without Vietnamese, not used: " + "; ".join(dropped), file=sys.stderr)
    for split, fams in usable.items():
        for kind in ("serif", "sans", "mono"):
            if not any(f["kind"] == kind for f in fams):
                sys.exit(f"forms.py: no {kind} family left for {split}")
    return usable


_FONTS = {}


def font(path, size):
    key = (path, int(round(size)))
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(path, key[1], layout_engine=ImageFont.Layout.BASIC)
    return _FONTS[key]


# ----------------------------------------------------------------------------------------- data

PROVINCES = {  # ID province code -> name as the card and addresses write it
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "008": "Tuyên Quang", "010": "Lào Cai",
    "014": "Sơn La", "019": "Thái Nguyên", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng", "033": "Hưng Yên", "034": "Thái Bình",
    "036": "Nam Định", "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam",
    "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên", "056": "Khánh Hòa", "064": "Gia Lai",
    "066": "Đắk Lắk", "068": "Lâm Đồng", "074": "Bình Dương", "075": "Đồng Nai", "079": "Hồ Chí Minh",
    "080": "Long An", "083": "Bến Tre", "087": "Đồng Tháp", "089": "An Giang", "092": "Cần Thơ",
    "094": "Sóc Trăng", "096": "Cà Mau",
}
# Places for addresses: province (as written), code, [(district or None, [wards/communes])], streets
PLACES = [
    ("thành phố Hà Nội", "001", [("quận Cầu Giấy", ["phường Dịch Vọng", "phường Quan Hoa", "phường Nghĩa Tân"]),
                                  ("quận Hoàng Mai", ["phường Hoàng Liệt", "phường Định Công"]),
                                  ("quận Đống Đa", ["phường Láng Hạ", "phường Ô Chợ Dừa"]),
                                  ("huyện Đông Anh", ["xã Kim Chung", "xã Uy Nỗ"]),
                                  ("huyện Gia Lâm", ["xã Bát Tràng", "xã Phù Đổng"])],
     ["Trần Duy Hưng", "Xuân Thủy", "Giải Phóng", "Nguyễn Trãi", "Láng Hạ", "Bằng Liệt", "Tôn Đức Thắng"]),
    ("Thành phố Hồ Chí Minh", "079", [("quận 3", ["phường Võ Thị Sáu", "phường 9"]),
                                       ("quận Bình Thạnh", ["phường 25", "phường 26"]),
                                       ("thành phố Thủ Đức", ["phường Linh Trung", "phường Hiệp Bình Chánh"]),
                                       ("quận Gò Vấp", ["phường 10", "phường 17"]),
                                       ("huyện Củ Chi", ["xã Tân Thạnh Đông", "xã Phước Vĩnh An"])],
     ["Nguyễn Thị Minh Khai", "Điện Biên Phủ", "Xô Viết Nghệ Tĩnh", "Phan Văn Trị", "Lê Văn Việt", "Kha Vạn Cân"]),
    ("thành phố Đà Nẵng", "048", [("quận Hải Châu", ["phường Thạch Thang", "phường Hòa Cường Bắc"]),
                                   ("quận Sơn Trà", ["phường An Hải Bắc", "phường Mân Thái"]),
                                   ("quận Liên Chiểu", ["phường Hòa Khánh Bắc"]),
                                   ("huyện Hòa Vang", ["xã Hòa Phong", "xã Hòa Tiến"])],
     ["Lê Duẩn", "Nguyễn Văn Linh", "Ngô Quyền", "Tôn Đức Thắng", "Phan Đình Phùng"]),
    ("thành phố Hải Phòng", "031", [("quận Lê Chân", ["phường An Biên", "phường Dư Hàng"]),
                                     ("quận Ngô Quyền", ["phường Lạch Tray"]),
                                     ("huyện Thủy Nguyên", ["xã Lập Lễ", "xã Tam Hưng"])],
     ["Lạch Tray", "Tô Hiệu", "Hai Bà Trưng", "Lê Lợi"]),
    ("thành phố Cần Thơ", "092", [("quận Ninh Kiều", ["phường An Khánh", "phường Xuân Khánh"]),
                                   ("huyện Phong Điền", ["xã Nhơn Ái", "xã Mỹ Khánh"])],
     ["Nguyễn Văn Cừ", "Mậu Thân", "Trần Hưng Đạo", "30 Tháng 4"]),
    ("tỉnh Nam Định", "036", [("thành phố Nam Định", ["phường Trần Hưng Đạo", "phường Lộc Hạ"]),
                              ("huyện Hải Hậu", ["xã Hải Đông", "xã Hải Minh"]),
                              ("huyện Giao Thủy", ["xã Giao Thịnh"])],
     ["Trần Hưng Đạo", "Hàn Thuyên", "Điện Biên"]),
    ("tỉnh Nghệ An", "040", [("thành phố Vinh", ["phường Hưng Bình", "phường Lê Mao"]),
                             ("huyện Nghi Lộc", ["xã Nghi Phong", "xã Nghi Thái", "xã Nghi Xuân"]),
                             ("huyện Diễn Châu", ["xã Diễn Kỷ"])],
     ["Lê Lợi", "Nguyễn Du", "Quang Trung", "Phan Bội Châu"]),
    ("tỉnh Thanh Hóa", "038", [("thành phố Thanh Hóa", ["phường Điện Biên", "phường Đông Hương"]),
                               ("huyện Quảng Xương", ["xã Quảng Tân"]), ("huyện Thọ Xuân", ["xã Xuân Lập"])],
     ["Lê Hoàn", "Bà Triệu", "Hạc Thành"]),
    ("tỉnh Phú Yên", "054", [("thành phố Tuy Hòa", ["phường 5", "xã Bình Ngọc"]),
                             ("huyện Đông Hòa", ["xã Hòa Xuân Tây"])],
     ["Nguyễn Trãi", "Lê Duẩn", "Trần Hưng Đạo"]),
    ("tỉnh Thừa Thiên Huế", "046", [("thành phố Huế", ["phường Phú Hội", "phường Vĩnh Ninh"]),
                                    ("huyện Phú Vang", ["xã Phú Thượng"])],
     ["Lê Lợi", "Hùng Vương", "Nguyễn Huệ"]),
    ("tỉnh Lâm Đồng", "068", [("thành phố Đà Lạt", ["phường 4", "phường 9"]),
                              ("huyện Đức Trọng", ["xã Hiệp Thạnh"])],
     ["Phan Đình Phùng", "Ba Tháng Hai", "Hùng Vương"]),
    ("tỉnh Đắk Lắk", "066", [("thành phố Buôn Ma Thuột", ["phường Tân Lợi", "xã Ea Tu"]),
                             ("huyện Krông Pắc", ["xã Ea Phê"])],
     ["Y Jút", "Lê Duẩn", "Phan Bội Châu"]),
    ("tỉnh Lào Cai", "010", [("thành phố Lào Cai", ["phường Cốc Lếu"]), ("thị xã Sa Pa", ["xã Tả Van"])],
     ["Hoàng Liên", "Nguyễn Huệ"]),
    ("tỉnh Cao Bằng", "004", [("thành phố Cao Bằng", ["phường Hợp Giang"]), ("huyện Hòa An", ["xã Bạch Đằng"])],
     ["Kim Đồng", "Vườn Cam"]),
    ("tỉnh Sóc Trăng", "094", [("thành phố Sóc Trăng", ["phường 2"]), ("huyện Mỹ Xuyên", ["xã Tham Đôn"])],
     ["Trần Hưng Đạo", "Lê Hồng Phong"]),
    ("tỉnh Bình Dương", "074", [("thành phố Thủ Dầu Một", ["phường Phú Cường", "phường Hiệp Thành"]),
                                ("thành phố Dĩ An", ["phường Đông Hòa"])],
     ["Đại lộ Bình Dương", "Yersin", "Cách Mạng Tháng Tám"]),
]
HOSPITALS = {
    "001": ["Bệnh viện Phụ sản Hà Nội", "Bệnh viện Phụ sản Trung ương", "Bệnh viện Đa khoa Đức Giang"],
    "079": ["Bệnh viện Từ Dũ", "Bệnh viện Hùng Vương", "Bệnh viện Đa khoa Thủ Đức"],
    "048": ["Bệnh viện Phụ sản - Nhi Đà Nẵng", "Bệnh viện Đà Nẵng"],
    "031": ["Bệnh viện Phụ sản Hải Phòng"], "092": ["Bệnh viện Phụ sản thành phố Cần Thơ"],
    "036": ["Bệnh viện Đa khoa tỉnh Nam Định"], "040": ["Bệnh viện Sản Nhi Nghệ An"],
    "038": ["Bệnh viện Phụ sản Thanh Hóa"], "054": ["Bệnh viện Đa khoa tỉnh Phú Yên"],
    "046": ["Bệnh viện Trung ương Huế"], "068": ["Bệnh viện Đa khoa tỉnh Lâm Đồng"],
    "066": ["Bệnh viện Đa khoa vùng Tây Nguyên"], "010": ["Bệnh viện Sản Nhi Lào Cai"],
    "004": ["Bệnh viện Đa khoa tỉnh Cao Bằng"], "094": ["Bệnh viện Sản - Nhi Sóc Trăng"],
    "074": ["Bệnh viện Đa khoa tỉnh Bình Dương"],
}
DEATH_HOSPITALS = [("Bệnh viện Bạch Mai", "thành phố Hà Nội"), ("Bệnh viện Chợ Rẫy", "Thành phố Hồ Chí Minh"),
                   ("Bệnh viện K", "thành phố Hà Nội"), ("Bệnh viện Hữu nghị Việt Đức", "thành phố Hà Nội"),
                   ("Bệnh viện Trung ương Huế", "tỉnh Thừa Thiên Huế"), ("Bệnh viện Đà Nẵng", "thành phố Đà Nẵng"),
                   ("Bệnh viện Hữu nghị Đa khoa Nghệ An", "tỉnh Nghệ An"),
                   ("Bệnh viện Thống Nhất", "Thành phố Hồ Chí Minh"),
                   ("Bệnh viện Đa khoa Trung ương Cần Thơ", "thành phố Cần Thơ"),
                   ("Bệnh viện Đa khoa tỉnh Nam Định", "tỉnh Nam Định")]
CAUSES = ["Bệnh già", "Ung thư phổi", "Tai biến mạch máu não", "Suy tim", "Tai nạn giao thông",
          "Nhồi máu cơ tim", "Suy hô hấp", "Xơ gan", "Ung thư gan", "Suy thận mạn", "Đột quỵ",
          "Viêm phổi nặng"]

SURNAMES = ["NGUYỄN"] * 8 + ["TRẦN"] * 3 + ["LÊ"] * 3 + ["PHẠM"] * 2 + [
    "HOÀNG", "HUỲNH", "PHAN", "VŨ", "VÕ", "ĐẶNG", "BÙI", "ĐỖ", "HỒ", "NGÔ", "DƯƠNG", "LÝ", "TRỊNH",
    "ĐINH", "ĐOÀN", "LƯƠNG", "MAI", "TRƯƠNG", "LÂM", "ĐÀO", "CAO", "TẠ", "QUÁCH", "KIỀU", "TÔ", "HÀ",
    "LỤC", "KHÚC", "NGHIÊM", "PHÙNG", "TRIỆU", "LẠI", "ÂU", "DIỆP", "ỨNG", "VƯƠNG"]
MIDDLE_M = ["VĂN", "HỮU", "ĐỨC", "MINH", "QUỐC", "THÀNH", "CÔNG", "XUÂN", "GIA", "TUẤN", "NGỌC", "ĐÌNH",
            "QUANG", "TRỌNG", "ANH", "HOÀNG", "DUY", "THẾ", "BẢO", "NHẬT"]
MIDDLE_F = ["THỊ", "THỊ", "NGỌC", "THU", "THANH", "PHƯƠNG", "MINH", "BẢO", "KHÁNH", "MAI", "HỒNG", "THÙY",
            "DIỆU", "MỸ", "HOÀI", "QUỲNH", "KIM", "TUYẾT", "YẾN", "THẢO"]
GIVEN_M = ["AN", "BẢO", "CƯỜNG", "DŨNG", "DUY", "ĐẠT", "ĐỨC", "HẢI", "HIẾU", "HOÀNG", "HÙNG", "HUY",
           "KHANG", "KHÔI", "KIÊN", "LỘC", "LONG", "MẠNH", "MINH", "NAM", "NGHĨA", "NHÂN", "PHONG",
           "PHÚC", "QUÂN", "QUANG", "SƠN", "TÀI", "THẮNG", "THÀNH", "THIỆN", "TOÀN", "TRUNG", "TUẤN",
           "VIỆT", "VINH", "VŨ", "KHẢI", "NGUYÊN", "HƯNG", "TRÍ", "ĐĂNG", "LUÂN", "THỊNH", "TÙNG"]
GIVEN_F = ["ANH", "CHI", "DUNG", "DIỆP", "GIANG", "HÀ", "HẠNH", "HẰNG", "HIỀN", "HOA", "HƯƠNG", "HUYỀN",
           "LAN", "LIÊN", "LINH", "LOAN", "MAI", "MY", "NGA", "NGÂN", "NGỌC", "NHUNG", "OANH", "PHƯƠNG",
           "QUỲNH", "THẢO", "THỦY", "TRANG", "TRÂM", "UYÊN", "VÂN", "YẾN", "XUÂN", "NHI", "THƯ", "ÁNH",
           "TUYẾT", "NGUYỆT", "KHUÊ", "LỤA", "HẬU", "THƠM"]
# Names of some minority groups, (surnames, male middle, female middle, male given, female given)
MINORITY_NAMES = {
    "H'Mông": (["GIÀNG", "SÙNG", "VÀNG", "THÀO", "MÙA", "HẢNG", "LÝ"], ["A", "A", "SEO"], ["THỊ", "THỊ"],
               ["PÁO", "CHÔNG", "DÌNH", "SỬ", "TỦA", "VỪ", "DẾ"], ["MỶ", "DẾ", "SUA", "DỢ", "MAI", "CHÚ"]),
    "Thái": (["LÒ", "LƯỜNG", "QUÀNG", "CẦM", "TÒNG", "HÀ"], ["VĂN"], ["THỊ"],
             ["PỌM", "THƯỞNG", "XUÂN", "TOAN", "HẶC", "PÁN"], ["ÉN", "BIÊN", "PHÓNG", "XUÂN", "LẢ"]),
    "Tày": (["NÔNG", "HOÀNG", "LỤC", "BẾ", "LƯƠNG", "MA", "ĐINH"], ["VĂN", "ĐỨC"], ["THỊ"],
            ["DỀN", "PHÚC", "THỀM", "KHOÁT", "SINH"], ["DUYÊN", "LIỄU", "QUYÊN", "THOA"]),
    "Nùng": (["NÔNG", "HOÀNG", "LÃ", "VI", "TRIỆU", "LƯƠNG"], ["VĂN"], ["THỊ"],
             ["PÁO", "SẦU", "KHÌN", "TÌNH"], ["MỶ", "HÌN", "THÚY", "XUYẾN"]),
    "Khmer": (["THẠCH", "SƠN", "KIM", "DANH", "LÂM"], ["", "NGỌC"], ["THỊ"],
              ["SA RÁT", "SÓC KHA", "RÓT", "PHOL"], ["SA RI", "CHANH THY", "SÔ PHI", "ĐA RA"]),
}
EDE_CLANS = ["NIÊ", "ÊBAN", "BYĂ", "MLÔ", "KBUÔR", "ADRƠNG", "KSƠR"]
ETHNIC_MINOR = ["Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Dao", "Gia Rai", "Ê Đê",
                "Ba Na", "Sán Chay", "Chăm", "Sán Dìu", "Cơ Ho", "Xơ Đăng", "Thổ", "Giáy", "Bru - Vân Kiều",
                "Cơ Tu", "Hà Nhì", "Lự", "Pà Thẻn"]

UNITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


def words_2(n):
    if n < 10:
        return UNITS[n]
    if n < 20:
        return "mười" + ("" if n == 10 else " " + ("lăm" if n == 15 else UNITS[n % 10]))
    t, u = divmod(n, 10)
    return f"{UNITS[t]} mươi" + {0: "", 1: " mốt", 4: " tư", 5: " lăm"}.get(u, " " + UNITS[u])


def words_year(y):
    th, rest = divmod(y, 1000)
    h, r = divmod(rest, 100)
    s = f"{UNITS[th]} nghìn {UNITS[h]} trăm"
    if r:
        s += (" linh " + UNITS[r]) if r < 10 else " " + words_2(r)
    return s


def date_words(d, rnd):
    month = {1: "một", 4: "tư"}.get(d.month, words_2(d.month))
    s = f"{words_2(d.day)} tháng {month} năm {words_year(d.year)}"
    return rnd.choice(["ngày " + s, s[0].upper() + s[1:], s])


def dmy(d, pad=True):
    return f"{d.day:02d}/{d.month:02d}/{d.year}" if pad else f"{d.day}/{d.month}/{d.year}"


def rand_date(rnd, y0, y1):
    a = datetime.date(y0, 1, 1).toordinal()
    b = datetime.date(y1, 12, 31).toordinal()
    return datetime.date.fromordinal(rnd.randint(a, b))


def title_case(name):
    return " ".join("'".join(p[:1] + p[1:].lower() for p in w.split("'")) for w in name.split())


def full_name(rnd, sex, ethnic, surname=None):
    if ethnic == "Ê Đê" or (ethnic == "Gia Rai" and rnd.random() < 0.7):
        given = rnd.choice(["MOAN", "BLIM", "KHU", "WƠN", "JÚ", "THUY"] if sex == "Nam"
                           else ["HEN", "NHUNG", "BLÚT", "YÂM", "ĐƠK"])
        return f"{'Y' if sex == 'Nam' else 'H'}{'' if sex == 'Nam' else chr(39)} {given} {rnd.choice(EDE_CLANS)}" \
            .replace("H' ", "H'")
    pools = MINORITY_NAMES.get(ethnic)
    if pools and rnd.random() < 0.8:
        sur, mm, mf, gm, gf = pools
        mid = rnd.choice(mm if sex == "Nam" else mf)
        given = rnd.choice(gm if sex == "Nam" else gf)
        return " ".join(p for p in (surname or rnd.choice(sur), mid, given) if p)
    mid = rnd.choice(MIDDLE_M if sex == "Nam" else MIDDLE_F)
    parts = [surname or rnd.choice(SURNAMES), mid]
    if rnd.random() < 0.25:
        parts.append(rnd.choice(MIDDLE_M[3:] if sex == "Nam" else MIDDLE_F[2:]))
        if parts[-1] == parts[-2]:
            parts.pop()
    parts.append(rnd.choice(GIVEN_M if sex == "Nam" else GIVEN_F))
    return " ".join(parts)


def make_pid(rnd, code, year, sex):
    century = (year // 100) - 19  # 0 for 19xx, 1 for 20xx
    digit = 2 * century + (0 if sex == "Nam" else 1)
    return f"{code}{digit}{year % 100:02d}{rnd.randint(0, 999999):06d}"


SOUTH = {"079", "092", "094", "074", "080", "083", "087", "089", "096", "075"}
HIGHLANDS = {"066", "064", "068"}
MOUNTAINS = {"010", "004", "002", "014"}


class Address:
    """A Vietnamese address; str() is how a form writes it."""

    def __init__(self, rnd, place=None, long=None):
        self.place = place or rnd.choice(PLACES)
        prov, self.code, districts, streets = self.place
        self.district, wards = rnd.choice(districts)
        self.ward = rnd.choice(wards)
        self.province = prov
        rural = self.ward.startswith("xã")
        long = rnd.random() < 0.3 if long is None else long
        street = rnd.choice(streets)
        n = rnd.randint(1, 420)
        if rural:
            if self.code in SOUTH:
                house = rnd.choice([f"Ấp {rnd.choice(['Bình Thạnh', 'Phú Hòa', 'Mỹ Lợi', 'Tân Lập'])}",
                                    f"Ấp {rnd.randint(1, 9)}", f"Tổ {rnd.randint(1, 20)}, ấp {rnd.randint(1, 6)}"])
            elif self.code in HIGHLANDS:
                house = rnd.choice([f"Buôn {rnd.choice(['Ko Tam', 'Cuôr Knia', 'Drai'])}", f"Thôn {rnd.randint(1, 12)}"])
            elif self.code in MOUNTAINS:
                house = rnd.choice([f"Bản {rnd.choice(['Tả Van', 'Nà Hẩu', 'Cát Cát', 'Nà Rào'])}",
                                    f"Thôn {rnd.choice(['Nà Chướng', 'Pác Bó', 'Bản Hồ'])}"])
            else:
                house = rnd.choice([f"Thôn {rnd.randint(1, 15)}", f"Xóm {rnd.randint(1, 12)}",
                                    f"Tổ dân phố {rnd.randint(1, 20)}", f"Thôn Đông {rnd.randint(1, 5)}",
                                    f"Thôn {rnd.choice(['Trung', 'Thượng', 'Hạ', 'Phú Mỹ'])}"])
            if long:
                house = f"Số nhà {n}, {house}"
        elif long:
            house = rnd.choice([
                f"Số {n}/{rnd.randint(2, 60)} hẻm {rnd.randint(10, 300)} đường {street}, khu phố {rnd.randint(1, 9)}",
                f"Căn hộ {rnd.randint(2, 30)}{rnd.randint(1, 20):02d}, tòa nhà {rnd.choice(['CT2', 'HH1A', 'B3', 'Sunrise'])}, "
                f"số {n} đường {street}",
                f"Số {n} ngõ {rnd.randint(2, 300)} ngách {rnd.randint(2, 80)} phố {street}, tổ {rnd.randint(1, 40)}"])
        else:
            house = rnd.choice([f"Số {n} {street}", f"Số {n} đường {street}",
                                f"Số {n} ngõ {rnd.randint(2, 200)} phố {street}", f"Số {n}{rnd.choice('ABC')} {street}"])
        # After the 2025 reform addresses drop the district; both kinds are in use.
        two_level = rnd.random() < 0.3
        parts = [house, self.ward] + ([] if two_level else [self.district]) + [prov]
        self.text = ", ".join(parts)
        self.commune_short = self.ward.split(" ", 1)[1]
        self.two_level = two_level

    def __str__(self):
        return self.text

    def office(self, rnd):
        """The people's committee a form is sent to."""
        if rnd.random() < 0.5:
            return f"Ủy ban nhân dân {self.ward}, {self.district}"
        return f"UBND {self.ward}, {self.province}" if self.two_level else f"UBND {self.ward}, {self.district}"

    def sign_place(self, rnd):
        prov = self.province.split(" ", 2)[2] if self.province.lower().startswith("thành phố") \
            else self.province.split(" ", 1)[1]
        district = self.district.split(" ", 2)[-1] if self.district.startswith("thành phố") \
            else self.district.split(" ", 1)[1]
        if self.province.lower().startswith("thành phố") and rnd.random() < 0.5:
            return prov
        return next(p for p in (self.commune_short, district, prov) if not p[0].isdigit())


def origin(rnd):
    prov, _, districts, _ = rnd.choice(PLACES)
    district, wards = rnd.choice(districts)
    ward = rnd.choice([w for w in wards if w.startswith("xã")]
                      + ["xã " + rnd.choice(["Bình Ngọc", "Nghi Xuân", "Hải Hậu", "Tân Lập", "Yên Phong", "Đông Sơn"])])
    return f"{ward}, {prov}" if rnd.random() < 0.3 else f"{ward}, {district}, {prov}"


def ethnic_of(rnd):
    return "Kinh" if rnd.random() < 0.68 else rnd.choice(ETHNIC_MINOR)


def make_person(rnd, sex, y0, y1, ethnic=None, surname=None, address=None):
    dob = rand_date(rnd, y0, y1)
    if dob.month == 2 and dob.day == 29:
        dob = dob.replace(day=28)
    ethnic = ethnic or ethnic_of(rnd)
    code = rnd.choice(list(PROVINCES))
    return {"sex": sex, "dob": dob, "ethnic": ethnic, "name": full_name(rnd, sex, ethnic, surname),
            "pid": make_pid(rnd, code, dob.year, sex), "code": code,
            "address": address or Address(rnd)}


def id_paper(rnd, p):
    """'Giấy tờ tùy thân' as written, for person p (issued at 14 or later); the same every time."""
    if "paper" in p:
        return p["paper"]
    first = max(2016, p["dob"].year + 14)
    last = 2025
    if first > last:
        first = last
    issued = rand_date(rnd, first, last)
    if issued.year >= 2024 and issued.month >= 7 or issued.year == 2025:
        p["paper"] = f"Căn cước số {p['pid']}, Bộ Công an cấp ngày {dmy(issued, rnd.random() < 0.5)}"
        return p["paper"]
    p["paper"] = rnd.choice([
        f"Căn cước công dân số {p['pid']}, Cục Cảnh sát QLHC về TTXH cấp ngày {dmy(issued)}",
        f"CCCD số {p['pid']} do Cục Cảnh sát quản lý hành chính về trật tự xã hội cấp ngày {dmy(issued)}",
        f"Căn cước công dân số {p['pid']} cấp ngày {dmy(issued, False)}"])
    return p["paper"]


# ---------------------------------------------------------------------------------------- pages

INK = (22, 22, 22)


class Overflow(Exception):
    pass


class Page:
    """A page being printed: labels in the label family, values in one value face."""

    def __init__(self, size, lab, val, rnd, scale, fill):
        self.w, self.h = size
        self.img = Image.new("RGB", size, "white")
        self.d = ImageDraw.Draw(self.img)
        self.lab, self.val, self.rnd = lab, val, rnd
        self.ls = rnd.uniform(50, 60) * scale
        self.vs = self.ls * rnd.uniform(0.9, 1.25)
        if val["kind"] == "mono":
            self.vs = min(self.vs, self.ls * 1.08)
        self.spacing = rnd.uniform(1.45, 1.7)
        self.left = int(rnd.uniform(180, 260))
        self.right = self.w - int(rnd.uniform(170, 240))
        self.top = int(rnd.uniform(150, 250))
        self.bottom = self.h - int(rnd.uniform(150, 230))
        self.width = self.right - self.left
        self.y = self.top
        self.over = fill == "overlay"
        self.leader = "…" if rnd.random() < 0.2 else "."
        if self.over:
            self.dy = rnd.choice([-0.05, 0.0, 0.04, 0.1, 0.16, 0.24]) * self.ls
            self.dx = rnd.uniform(0.1, 0.6) * self.ls
        else:
            self.dy = rnd.uniform(0.0, 0.1) * self.ls
            self.dx = 0.0
        self.overhang = rnd.choice([0, 0, 40, 90])
        self.lines = []
        self.sig = None
        self.office = None  # the address whose people's committee the form is sent to
        self.space = self.lf().getlength(" ")

    # faces
    def lf(self, style="Regular", mul=1.0):
        f = self.lab["faces"]
        path = f.get(style) or f.get("Bold" if "Bold" in style else "Regular") or f["Regular"]
        return font(path, self.ls * mul)

    def vf(self, mul=1.0):
        return font(self.val["path"], self.vs * mul)

    def draw(self, x, base, s, f, fill=INK):
        bad = set(s) - CHARSET
        assert not bad, f"character(s) {bad!r} not in CHARSET: {s!r}"
        self.d.text((x, base), s, font=f, fill=fill, anchor="ls")
        return f.getlength(s)

    def line_h(self):
        return max(self.ls, self.vs) * self.spacing

    def baseline(self):
        return self.y + max(self.ls, self.vs) * 1.05

    def flush(self, segs, h=None):
        t = " ".join(s for s in segs if s).strip()
        if t:
            self.lines.append(t)
        self.y += h if h is not None else self.line_h()
        if self.y > self.bottom:
            raise Overflow()

    def gap(self, k=0.5):
        self.y += self.line_h() * k

    def dots(self, x0, x1, base, after=None):
        """A dotted leader from x0 to x1; returns the dots printed right of `after` as text."""
        f = self.lf()
        adv = f.getlength(self.leader)
        n = int((x1 - x0) // adv)
        if n < 2:
            return ""
        self.draw(x0, base, self.leader * n, f)
        if after is None:
            return self.leader * n
        vis = sum(1 for k in range(n) if x0 + k * adv >= after + adv * 0.3)
        return self.leader * vis if vis >= 2 else ""

    # layout
    def center(self, s, style="Bold", mul=1.0, underline=False, x0=None, x1=None):
        f = self.lf(style, mul)
        x0 = self.left if x0 is None else x0
        x1 = self.right if x1 is None else x1
        w = f.getlength(s)
        if w > x1 - x0:
            mul *= (x1 - x0) / w * 0.98
            f = self.lf(style, mul)
            w = f.getlength(s)
        x = (x0 + x1 - w) / 2
        base = self.y + self.ls * mul * 1.05
        self.draw(x, base, s, f)
        if underline:
            uy = base + self.ls * 0.25
            self.d.line([(x + w * 0.15, uy), (x + w * 0.85, uy)], fill=INK, width=max(2, int(self.ls / 20)))
        self.flush([s], self.ls * mul * self.spacing)

    def para(self, s, style="Regular", indent=0.0):
        f = self.lf(style)
        words = s.split()
        first = True
        while words:
            x = self.left + (indent * self.ls if first else 0)
            n = fit(words, f, self.right - x, self.space)
            piece = " ".join(words[:n])
            self.draw(x, self.baseline(), piece, f)
            words = words[n:]
            first = False
            self.flush([piece], self.ls * self.spacing * 0.92)

    def row(self, cells, cont=False, start=None):
        """One form row: cells {label, style, marker, value, col, lead}; a value too long for the
        row wraps onto further lines; cont: the form has a second dotted line for this row."""
        base = self.baseline()
        x = self.left + (start or 0) * self.width
        segs = []
        wrapped = False
        vf = self.vf()
        for i, c in enumerate(cells):
            last = i == len(cells) - 1
            if c.get("col") is not None:
                x = max(x, self.left + c["col"] * self.width)
            if c.get("label"):
                segs.append(c["label"])
                x += self.draw(x, base, c["label"], self.lf(c.get("style", "Regular")))
            if c.get("marker"):
                mf = self.lf("Regular", 0.62)
                x += self.space * 0.6
                x += self.draw(x, base - self.ls * 0.42, c["marker"], mf)
                segs.append(c["marker"])
            x += self.space
            lead = c.get("lead", True)
            words = (c.get("value") or "").split()
            line_start = x
            while True:
                vx = line_start + self.dx + (self.space * 0.2 if not self.over else 0)
                n = fit(words, vf, self.right + self.overhang - vx, vf.getlength(" "))
                if n == 0 and words and line_start <= self.left + self.ls * 2:
                    n = 1  # a word wider than the line
                # n == 0 with words left: nothing fits after the label, the value starts below
                piece = " ".join(words[:n])
                words = words[n:]
                more = bool(words)
                pw = vf.getlength(piece) if piece else 0.0
                pe = vx + pw if piece else line_start
                if more or last or lead == "end":
                    end = self.right
                else:
                    nxt = cells[i + 1].get("col")
                    target = self.left + nxt * self.width - self.space if nxt is not None else 0
                    min_lead = c.get("min_lead") or (0.8 if nxt is not None else self.rnd.uniform(2.0, 4.5)) * self.ls
                    end = max(target, pe + self.space + min_lead)
                    if end > self.right - self.ls * 4:
                        end = pe + self.space + self.ls * 1.2
                dots = ""
                if self.over and lead:
                    dots = self.dots(line_start, end, base, after=pe if piece else None)
                if piece:
                    self.draw(vx, base - self.dy + self.rnd.uniform(-1.5, 1.5), piece, vf)
                if not self.over and lead and not more:
                    dots = self.dots(pe + self.space * (0.5 if piece else 0), end, base)
                segs += [piece, dots]
                if not more:
                    break
                self.flush(segs)
                segs, wrapped = [], True
                base = self.baseline()
                line_start = self.left
            x = (end if lead else pe) + self.space
        self.flush(segs)
        if cont and not wrapped:
            self.flush([self.dots(self.left, self.right, self.baseline())])

    def estimate(self, cells):
        """Width a row of cells takes at least (labels, markers, values, shortest leaders)."""
        w = 0.0
        for i, c in enumerate(cells):
            if c.get("label"):
                w += self.lf(c.get("style", "Regular")).getlength(c["label"])
            if c.get("marker"):
                w += self.space * 0.6 + self.lf("Regular", 0.62).getlength(c["marker"])
            w += self.space
            if c.get("value"):
                w += self.vf().getlength(c["value"]) + self.dx + self.space * 0.2
            if i < len(cells) - 1:
                w += self.space + (c.get("min_lead") or self.ls * 0.8 if c.get("lead", True) else 0)
        return w

    def sign(self, date_cells=None, date_text=None, who="Người yêu cầu", name=None, x_frac=0.68):
        """The signature block in the right half: place and date, title, note, scribble, name."""
        cx = self.left + self.width * x_frac
        top = self.y
        if date_cells:
            room = self.width - self.estimate(date_cells) - self.ls
            self.row(date_cells, start=min(0.36, max(0.0, room / self.width)))
        elif date_text:
            self.center(date_text, "Regular", 1.0, x0=cx - self.width * 0.3, x1=cx + self.width * 0.3)
        self.center(who, "Bold", 1.0, x0=cx - self.width * 0.3, x1=cx + self.width * 0.3)
        self.center("(Ký, ghi rõ họ, chữ đệm, tên)", "Italic", 0.92, x0=cx - self.width * 0.3,
                    x1=cx + self.width * 0.3)
        sy = self.y
        scribble(self.d, self.rnd, cx - self.ls * 2.5, sy + self.ls * 0.3, self.ls * 5, self.ls * 2.2,
                 self.rnd.choice([INK, (25, 35, 120)]), max(3, int(self.ls / 14)))
        self.y += self.ls * 2.8
        if name:
            f = self.vf(0.95)
            w = f.getlength(name)
            self.draw(cx - w / 2, self.baseline(), name, f)
            self.flush([name])
        self.sig = (cx - self.width * 0.3, top, cx + self.width * 0.3, self.y)

    def header(self, title, title2=None):
        self.center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Bold", 1.0)
        self.center("Độc lập - Tự do - Hạnh phúc", "Bold", 1.0, underline=True)
        self.gap(0.6)
        self.center(title, "Bold", 1.2)
        if title2:
            self.center(title2, "Bold", 1.2)
        self.gap(0.15)


def fit(words, f, width, space):
    """How many leading words fit in width."""
    w, n = 0.0, 0
    for i, word in enumerate(words):
        w += (space if i else 0) + f.getlength(word)
        if w > width:
            break
        n += 1
    return n


def scribble(d, rnd, x, y, w, h, colour, width):
    pts = []
    for k in range(rnd.randint(7, 12)):
        pts.append((x + w * (k / 10 + rnd.uniform(-0.05, 0.05)), y + h * rnd.uniform(0.1, 0.9)))
    d.line(pts, fill=colour, width=width, joint="curve")
    a = (x + w * rnd.uniform(0.1, 0.4), y + h * rnd.uniform(0.6, 0.9))
    d.line([a, (x + w * rnd.uniform(0.6, 1.0), y + h * rnd.uniform(0.1, 0.5))], fill=colour, width=width)


def L(label, value=None, **kw):
    return dict(label=label, value=value, **kw)


# ----------------------------------------------------------------------------------- documents

def family_data(rnd, child_years=(2023, 2026)):
    ethnic_f = ethnic_of(rnd)
    ethnic_m = ethnic_f if rnd.random() < 0.8 else ethnic_of(rnd)
    child_dob = rand_date(rnd, *child_years)
    if child_dob > datetime.date(2026, 10, 31):
        child_dob = child_dob.replace(month=rnd.randint(1, 10))
    my = child_dob.year - round(rnd.triangular(20, 40, 27))
    fy = min(child_dob.year - 21, my - round(rnd.triangular(-3, 10, 2)))
    home = Address(rnd)
    father = make_person(rnd, "Nam", fy, fy, ethnic_f, address=home)
    same_home = rnd.random() < 0.7
    mother = make_person(rnd, "Nữ", my, my, ethnic_m, address=home if same_home else Address(rnd))
    child_sex = rnd.choice(["Nam", "Nữ"])
    surname = father["name"].split()[0] if rnd.random() < 0.93 else mother["name"].split()[0]
    child_ethnic = ethnic_f if rnd.random() < 0.8 else ethnic_m
    child_name = full_name(rnd, child_sex, child_ethnic, surname if child_ethnic not in ("Ê Đê",) else None)
    signed = child_dob + datetime.timedelta(days=rnd.randint(3, 55))
    return father, mother, {"name": child_name, "dob": child_dob, "sex": child_sex, "ethnic": child_ethnic}, signed


def birthplace(rnd, addr):
    hs = HOSPITALS.get(addr.code, ["Bệnh viện Đa khoa tỉnh"])
    if rnd.random() < 0.15:
        return f"Trạm y tế {addr.ward}"
    h = rnd.choice(hs)
    return f"{h}, {addr.province}" if rnd.random() < 0.4 else h


def requester_for_birth(rnd, father, mother):
    r = rnd.random()
    if r < 0.5:
        return mother, "Mẹ"
    if r < 0.88:
        return father, "Cha"
    rel = rnd.choice(["Bà nội", "Ông nội", "Bà ngoại", "Ông ngoại"])
    sex = "Nữ" if rel.startswith("Bà") else "Nam"
    parent = father if rel.endswith("nội") else mother
    y = parent["dob"].year - round(rnd.triangular(20, 38, 26))
    surname = parent["name"].split()[0] if sex == "Nam" else None
    return make_person(rnd, sex, y, y, parent["ethnic"], surname=surname, address=parent["address"]), rel


def doc_birth_dev(P, rnd):
    father, mother, child, signed = family_data(rnd)
    req, rel = requester_for_birth(rnd, father, mother)
    home = req["address"]
    P.header("TỜ KHAI ĐĂNG KÝ KHAI SINH")
    kinh_gui(P, rnd, home, dev=True)
    P.gap(0.2)
    P.row([L("Họ, chữ đệm, tên người yêu cầu:", req["name"])])
    P.row([L("Nơi cư trú:", str(home))])
    P.row([L("Số định danh cá nhân:", req["pid"])])
    P.row([L("Quan hệ với người được khai sinh:", rel)])
    P.row([L("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:")])
    P.row([L("Họ, chữ đệm, tên:", child["name"])])
    P.row([L("Ngày, tháng, năm sinh:", dmy(child["dob"]))])
    P.row([L("ghi bằng chữ:", date_words(child["dob"], rnd))])
    P.row([L("Giới tính:", child["sex"])])
    P.row([L("Dân tộc:", child["ethnic"])])
    P.row([L("Quốc tịch:", "Việt Nam")])
    bp = birthplace(rnd, home)
    P.row([L("Nơi sinh:", bp)])
    og = origin(rnd)
    P.row([L("Quê quán:", og)])
    for who, p in (("mẹ", mother), ("cha", father)):
        P.row([L(f"Họ, chữ đệm, tên người {who}:", p["name"])])
        P.row([L("Năm sinh:", str(p["dob"].year))])
        P.row([L("Dân tộc:", p["ethnic"])])
        P.row([L("Số định danh cá nhân:", p["pid"])])
        P.row([L("Nơi cư trú:", str(p["address"]))])
    P.gap(0.5)
    place = home.sign_place(rnd)
    P.sign(date_text=f"{place}, ngày {signed.day:02d} tháng {signed.month:02d} năm {signed.year}",
           name=title_case(req["name"]))
    f = {"requester.name": req["name"], "requester.address": str(home), "requester.pid": req["pid"],
         "requester.relation": rel, "child.name": child["name"], "child.dob": dmy(child["dob"]),
         "child.sex": child["sex"], "child.ethnic": child["ethnic"], "child.nationality": "Việt Nam",
         "child.birthplace": bp, "child.origin": og}
    for who, p in (("mother", mother), ("father", father)):
        f.update({f"{who}.name": p["name"], f"{who}.birth_year": str(p["dob"].year),
                  f"{who}.ethnic": p["ethnic"], f"{who}.pid": p["pid"], f"{who}.address": str(p["address"])})
    f["signed_at"] = dmy(signed)
    return f


def cols(rnd):
    a = rnd.uniform(0.3, 0.36)
    return a, a + rnd.uniform(0.27, 0.32)


def made_at(P, rnd, place, d):
    """'Làm tại: X, ngày … tháng … năm …' as cells (labels italic, as the TT 04 forms print them)."""
    st = rnd.choice(["Italic", "Italic", "Regular"])
    day = f"{d.day:02d}" if rnd.random() < 0.5 else str(d.day)
    mon = f"{d.month:02d}" if rnd.random() < 0.4 else str(d.month)
    short = rnd.uniform(0.5, 1.0) * P.ls
    return [L("Làm tại:", place, style=st, min_lead=short), L(", ngày", day, style=st, min_lead=short),
            L("tháng", mon, style=st, min_lead=short), L("năm", str(d.year), style=st, lead=False)]


def kinh_gui(P, rnd, addr, dev=False):
    P.office = addr
    if dev:
        P.center("Kính gửi: " + addr.office(rnd), "Regular")
    else:
        P.row([L("Kính gửi:", addr.office(rnd), marker="(1)", col=rnd.uniform(0.08, 0.16), min_lead=P.ls)])


def tt04_requester(P, rnd, req, rel_label, rel, id_first=True):
    home = req["address"]
    kinh_gui(P, rnd, home)
    P.gap(0.2)
    P.row([L("Họ, chữ đệm, tên người yêu cầu:", req["name"], style="Bold")])
    paper = id_paper(rnd, req)
    rows = [lambda: P.row([L("Giấy tờ tùy thân:", paper, marker="(2)")]),
            lambda: P.row([L("Nơi cư trú:", str(home), marker="(3)")], cont=True)]
    for r in (rows if id_first else rows[::-1]):
        r()
    P.row([L(rel_label, rel)])
    return paper


def sex_ethnic_nat(P, rnd, c, first, first_value, ethnic, nat="Việt Nam"):
    a, b = c
    P.row([L(first, first_value), L("Dân tộc:", ethnic, col=a), L("Quốc tịch:", nat, col=b)])


def closing(P, rnd, text, place, signed, name):
    P.gap(0.2)
    P.para(text, indent=rnd.choice([0, 1.5]))
    P.gap(0.2)
    P.sign(date_cells=made_at(P, rnd, place, signed), name=name)


def doc_birth_tt04(P, rnd):
    father, mother, child, signed = family_data(rnd)
    req, rel = requester_for_birth(rnd, father, mother)
    home = req["address"]
    P.header("TỜ KHAI ĐĂNG KÝ KHAI SINH")
    tt04_requester(P, rnd, req, "Quan hệ với người được khai sinh:", rel)
    P.row([L("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", child["name"], style="Bold")])
    c = cols(rnd)
    P.row([L("Ngày, tháng, năm sinh:", dmy(child["dob"])),
           L("ghi bằng chữ:", date_words(child["dob"], rnd), col=rnd.uniform(0.47, 0.55))], cont=True)
    bp = birthplace(rnd, home)
    P.row([L("Nơi sinh:", bp, marker="(4)")])
    sex_ethnic_nat(P, rnd, c, "Giới tính:", child["sex"], child["ethnic"])
    og = origin(rnd)
    P.row([L("Quê quán:", og)])
    for who, p in (("cha", father), ("mẹ", mother)):
        P.row([L(f"Họ, chữ đệm, tên {who}:", p["name"], style="Bold")])
        sex_ethnic_nat(P, rnd, c, "Năm sinh:", str(p["dob"].year), p["ethnic"])
        P.row([L("Nơi cư trú:", str(p["address"]), marker="(3)")], cont=True)
    closing(P, rnd, "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật, được sự "
            "thỏa thuận nhất trí của các bên liên quan theo quy định pháp luật. Tôi chịu hoàn toàn trách "
            "nhiệm trước pháp luật về nội dung cam đoan của mình.", home.sign_place(rnd), signed,
            title_case(req["name"]))
    f = {"requester.name": req["name"], "requester.pid": req["pid"], "requester.address": str(home),
         "requester.relation": rel, "child.name": child["name"], "child.dob": dmy(child["dob"]),
         "child.sex": child["sex"], "child.ethnic": child["ethnic"], "child.nationality": "Việt Nam",
         "child.birthplace": bp, "child.origin": og}
    for who, p in (("father", father), ("mother", mother)):
        f.update({f"{who}.name": p["name"], f"{who}.birth_year": str(p["dob"].year),
                  f"{who}.ethnic": p["ethnic"], f"{who}.nationality": "Việt Nam",
                  f"{who}.address": str(p["address"])})
    f["signed_at"] = dmy(signed)
    return f


def doc_marriage_dev(P, rnd):
    wy = rnd.randint(1975, 2005)
    wife = make_person(rnd, "Nữ", wy, wy)
    hy = min(2005, wy + rnd.randint(-3, 8))
    husband = make_person(rnd, "Nam", hy, hy)
    P.header("TỜ KHAI ĐĂNG KÝ KẾT HÔN")
    kinh_gui(P, rnd, wife["address"], dev=True)
    P.gap(0.2)
    f = {}
    for side, key, p in (("Bên nữ", "wife", wife), ("Bên nam", "husband", husband)):
        times = rnd.choice(["Lần thứ nhất"] * 4 + ["Lần thứ hai"])
        P.row([L(f"{side} - Họ, chữ đệm, tên:", p["name"])])
        P.row([L("Ngày, tháng, năm sinh:", dmy(p["dob"]))])
        P.row([L("Dân tộc:", p["ethnic"])])
        P.row([L("Quốc tịch:", "Việt Nam")])
        P.row([L("Nơi cư trú:", str(p["address"]))])
        P.row([L("Số định danh cá nhân:", p["pid"])])
        P.row([L("Kết hôn lần thứ mấy:", times)])
        f.update({f"{key}.name": p["name"], f"{key}.dob": dmy(p["dob"]), f"{key}.ethnic": p["ethnic"],
                  f"{key}.nationality": "Việt Nam", f"{key}.address": str(p["address"]), f"{key}.pid": p["pid"]})
    P.gap(0.6)
    P.para("Chúng tôi cam đoan những lời khai trên đây là đúng sự thật, việc kết hôn của chúng tôi là tự "
           "nguyện, không vi phạm quy định của Luật Hôn nhân và gia đình Việt Nam.")
    P.gap(0.6)
    top = P.y
    for cx in (0.25, 0.72):
        scribble(P.d, rnd, P.left + P.width * cx - P.ls * 2.5, P.y, P.ls * 5, P.ls * 2.2, INK, max(3, int(P.ls / 14)))
    P.y += P.ls * 3
    P.sig = (P.left + P.width * 0.45, top - P.ls * 2, P.right, P.y)
    return f


def doc_death(P, rnd):
    dy = rnd.randint(1930, 1990)
    sex = rnd.choice(["Nam", "Nữ"])
    dec = make_person(rnd, sex, dy, dy)
    death = rand_date(rnd, 2024, 2026)
    if death > datetime.date(2026, 10, 15):
        death = death.replace(month=rnd.randint(1, 9))
    signed = death + datetime.timedelta(days=rnd.randint(1, 40))
    rel = rnd.choice(["Con", "Con trai", "Con gái", "Vợ" if sex == "Nam" else "Chồng", "Cháu nội", "Con"])
    rsex = {"Con trai": "Nam", "Con gái": "Nữ", "Vợ": "Nữ", "Chồng": "Nam"}.get(rel, rnd.choice(["Nam", "Nữ"]))
    if rel in ("Vợ", "Chồng"):
        ry = max(1930, min(1995, dy + rnd.randint(-5, 5)))
    elif rel == "Cháu nội":
        ry = min(2006, dy + rnd.randint(45, 60))
    else:
        ry = min(2006, dy + rnd.randint(20, 38))
    req = make_person(rnd, rsex, ry, ry, dec["ethnic"],
                      surname=dec["name"].split()[0] if rel.startswith(("Con", "Cháu")) and sex == "Nam" else None,
                      address=dec["address"] if rnd.random() < 0.6 else None)
    P.header("TỜ KHAI ĐĂNG KÝ KHAI TỬ")
    tt04_requester(P, rnd, req, "Quan hệ với người đã chết:", rel)
    P.row([L("Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", dec["name"], style="Bold")])
    P.row([L("Ngày, tháng, năm sinh:", dmy(dec["dob"]))])
    sex_ethnic_nat(P, rnd, cols(rnd), "Giới tính:", sex, dec["ethnic"])
    paper = id_paper(rnd, dec)
    P.row([L("Giấy tờ tùy thân:", paper, marker="(2)")])
    P.row([L("Nơi cư trú cuối cùng:", str(dec["address"]), marker="(3)")], cont=True)
    hh, mm = rnd.randint(0, 23), rnd.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    s = 1.2
    P.row([L("Đã chết vào lúc:", f"{hh:02d}", min_lead=s * P.ls), L("giờ", f"{mm:02d}", min_lead=s * P.ls),
           L("phút, ngày", f"{death.day:02d}", min_lead=s * P.ls), L("tháng", f"{death.month:02d}", min_lead=s * P.ls),
           L("năm", str(death.year))])
    if rnd.random() < 0.65:
        hosp, prov = rnd.choice(DEATH_HOSPITALS)
        place = hosp if rnd.random() < 0.6 else f"{hosp}, {prov}"
        issuer = hosp
    else:
        place = f"Tại nhà riêng, {dec['address']}" if rnd.random() < 0.5 else str(dec["address"])
        issuer = "Trạm y tế " + dec["address"].ward
    P.row([L("Nơi chết:", place, marker="(4)")], cont=rnd.random() < 0.5)
    cause = rnd.choice(CAUSES)
    P.row([L("Nguyên nhân chết:", cause)])
    gbt = f"{rnd.randint(1, 999):03d}/GBT" if rnd.random() < 0.5 else f"{rnd.randint(10, 9999)}/{death.year}/GBT"
    issued = death + datetime.timedelta(days=rnd.randint(0, 2))
    P.row([L("Số Giấy báo tử/Giấy tờ thay thế Giấy báo tử:", gbt, marker="(5)", min_lead=P.ls),
           L("do", issuer, min_lead=P.ls), L("cấp ngày", dmy(issued))])
    closing(P, rnd, "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
            "pháp luật về cam đoan của mình.", req["address"].sign_place(rnd), signed, title_case(req["name"]))
    return {"requester.name": req["name"], "requester.pid": req["pid"], "requester.address": str(req["address"]),
            "requester.relation": rel, "deceased.name": dec["name"], "deceased.dob": dmy(dec["dob"]),
            "deceased.sex": sex, "deceased.ethnic": dec["ethnic"], "deceased.nationality": "Việt Nam",
            "deceased.pid": dec["pid"], "deceased.address": str(dec["address"]), "death.date": dmy(death),
            "death.place": place, "death.cause": cause, "signed_at": dmy(signed)}


MARITAL = ["Chưa đăng ký kết hôn với ai", "Hiện tại chưa đăng ký kết hôn với ai",
           "Đã đăng ký kết hôn nhưng đã ly hôn, hiện tại chưa đăng ký kết hôn với ai",
           "Độc thân", "Chưa kết hôn"]
PURPOSES = ["Để đăng ký kết hôn", "Để bổ sung hồ sơ vay vốn ngân hàng", "Để làm thủ tục mua bán nhà đất",
            "Để bổ sung hồ sơ xin việc", "Để làm thủ tục xuất khẩu lao động", "Để làm thủ tục định cư",
            "Để bổ sung hồ sơ chuyển nhượng quyền sử dụng đất"]


def doc_marital(P, rnd):
    sex = rnd.choice(["Nam", "Nữ"])
    y = rnd.randint(1970, 2006)
    person = make_person(rnd, sex, y, y)
    if rnd.random() < 0.7:
        req, rel = person, "Bản thân"
    else:
        rel = rnd.choice(["Mẹ", "Cha", "Anh trai", "Chị gái"])
        rsex = "Nữ" if rel in ("Mẹ", "Chị gái") else "Nam"
        ry = y - rnd.randint(22, 30) if rel in ("Mẹ", "Cha") else y - rnd.randint(2, 8)
        req = make_person(rnd, rsex, ry, ry, person["ethnic"], address=person["address"],
                          surname=person["name"].split()[0] if rel != "Mẹ" else None)
    status = rnd.choice(MARITAL)
    if sex == "Nam" and rnd.random() < 0.15:
        status = f"Có vợ là {title_case(full_name(rnd, 'Nữ', 'Kinh'))} đã chết năm {rnd.randint(2010, 2024)}, " \
                 "hiện tại chưa đăng ký kết hôn với ai"
    purpose = rnd.choice(PURPOSES)
    if purpose == "Để đăng ký kết hôn" and rnd.random() < 0.6:
        other = title_case(full_name(rnd, "Nữ" if sex == "Nam" else "Nam", "Kinh"))
        purpose = f"Để đăng ký kết hôn với {'chị' if sex == 'Nam' else 'anh'} {other} tại UBND {Address(rnd).ward}"
    signed = rand_date(rnd, 2024, 2026)
    if signed > datetime.date(2026, 11, 20):
        signed = signed.replace(month=rnd.randint(1, 10))
    P.header("TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN")
    tt04_requester(P, rnd, req, "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân:", rel)
    P.row([L("Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", person["name"], style="Bold")])
    P.row([L("Ngày, tháng, năm sinh:", dmy(person["dob"]))])
    sex_ethnic_nat(P, rnd, cols(rnd), "Giới tính:", sex, person["ethnic"])
    P.row([L("Giấy tờ tùy thân:", id_paper(rnd, person), marker="(2)")])
    P.row([L("Nơi cư trú:", str(person["address"]), marker="(3)")], cont=True)
    if rnd.random() < 0.4:
        since = rand_date(rnd, 2008, 2018)
        P.row([L("Trong thời gian cư trú tại:", str(Address(rnd)), marker="(4)")])
        P.row([L("từ ngày", dmy(since), min_lead=P.ls), L("đến ngày", dmy(since.replace(year=since.year + rnd.randint(2, 6))))])
    P.row([L("Tình trạng hôn nhân:", status, marker="(5)")], cont=True)
    P.row([L("Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân:", purpose, marker="(6)")], cont=rnd.random() < 0.5)
    closing(P, rnd, "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
            "pháp luật về cam đoan của mình.", req["address"].sign_place(rnd), signed, title_case(req["name"]))
    return {"requester.name": req["name"], "requester.pid": req["pid"], "requester.address": str(req["address"]),
            "requester.relation": rel, "person.name": person["name"], "person.dob": dmy(person["dob"]),
            "person.sex": sex, "person.ethnic": person["ethnic"], "person.nationality": "Việt Nam",
            "person.pid": person["pid"], "person.address": str(person["address"]),
            "person.marital_status": status, "purpose": purpose, "signed_at": dmy(signed)}


# negatives: forms without a model that share most labels with the ones above

def person_rows(P, rnd, p, sex_row=True, paper=True, c=None):
    P.row([L("Ngày, tháng, năm sinh:", dmy(p["dob"]))])
    c = c or cols(rnd)
    if sex_row:
        sex_ethnic_nat(P, rnd, c, "Giới tính:", p["sex"], p["ethnic"])
    else:
        P.row([L("Dân tộc:", p["ethnic"]), L("Quốc tịch:", "Việt Nam", col=c[1])])
    P.row([L("Nơi cư trú:", str(p["address"]), marker="(3)")], cont=rnd.random() < 0.5)
    if paper:
        P.row([L("Giấy tờ tùy thân:", id_paper(rnd, p), marker="(2)")])


def neg_lien_thong(P, rnd):
    father, mother, child, signed = family_data(rnd)
    req, rel = requester_for_birth(rnd, father, mother)
    home = req["address"]
    P.header("TỜ KHAI ĐĂNG KÝ KHAI SINH, ĐĂNG KÝ THƯỜNG TRÚ,", "CẤP THẺ BẢO HIỂM Y TẾ CHO TRẺ EM DƯỚI 6 TUỔI")
    kinh_gui(P, rnd, home)
    P.row([L("I. THÔNG TIN ĐĂNG KÝ KHAI SINH", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên người yêu cầu:", req["name"])])
    P.row([L("Nơi cư trú:", str(home), marker="(2)")])
    P.row([L("Giấy tờ tùy thân:", id_paper(rnd, req), marker="(3)")])
    P.row([L("Quan hệ với người được khai sinh:", rel)])
    P.row([L("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", child["name"])])
    P.row([L("Ngày, tháng, năm sinh:", dmy(child["dob"])), L("ghi bằng chữ:", date_words(child["dob"], rnd), col=0.5)])
    P.row([L("Nơi sinh:", birthplace(rnd, home))])
    c = cols(rnd)
    sex_ethnic_nat(P, rnd, c, "Giới tính:", child["sex"], child["ethnic"])
    P.row([L("Quê quán:", origin(rnd))])
    for who, p in (("mẹ", mother), ("cha", father)):
        P.row([L(f"Họ, chữ đệm, tên người {who}:", p["name"])])
        sex_ethnic_nat(P, rnd, c, "Năm sinh:", str(p["dob"].year), p["ethnic"])
        P.row([L("Nơi cư trú:", str(p["address"]))])
    P.row([L("II. THÔNG TIN ĐĂNG KÝ THƯỜNG TRÚ", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên chủ hộ:", father["name"])])
    P.row([L("Quan hệ với chủ hộ:", "Con")])
    P.row([L("Số định danh cá nhân của chủ hộ:", father["pid"])])
    P.row([L("Địa chỉ đăng ký thường trú:", str(father["address"]))])
    P.row([L("III. THÔNG TIN CẤP THẺ BẢO HIỂM Y TẾ", style="Bold", lead=False)])
    P.row([L("Nơi đăng ký khám bệnh, chữa bệnh ban đầu:", birthplace(rnd, home))])
    closing(P, rnd, "Tôi cam đoan nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước pháp luật về "
            "lời khai của mình.", home.sign_place(rnd), signed, title_case(req["name"]))


def neg_giam_ho(P, rnd):
    gy = rnd.randint(1960, 1995)
    g = make_person(rnd, rnd.choice(["Nam", "Nữ"]), gy, gy)
    w = make_person(rnd, rnd.choice(["Nam", "Nữ"]), 2010, 2022, g["ethnic"])
    req = g
    P.header("TỜ KHAI ĐĂNG KÝ GIÁM HỘ")
    kinh_gui(P, rnd, req["address"])
    P.row([L("Họ, chữ đệm, tên người yêu cầu:", req["name"], style="Bold")])
    P.row([L("Nơi cư trú:", str(req["address"]), marker="(2)")])
    P.row([L("Giấy tờ tùy thân:", id_paper(rnd, req), marker="(3)")])
    P.row([L("Đề nghị cơ quan đăng ký việc giám hộ giữa những người có tên dưới đây:", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên người giám hộ:", g["name"], style="Bold")])
    person_rows(P, rnd, g)
    P.row([L("Họ, chữ đệm, tên người được giám hộ:", w["name"], style="Bold")])
    person_rows(P, rnd, w, paper=False)
    P.row([L("Nơi sinh:", birthplace(rnd, w["address"]))])
    P.row([L("Lý do đăng ký giám hộ:", rnd.choice(["Cha mẹ đều đã chết", "Cha mẹ mất năng lực hành vi dân sự",
                                                     "Không xác định được cha, mẹ"]))], cont=True)
    closing(P, rnd, "Tôi cam đoan những nội dung khai trên đây là đúng sự thật, việc giám hộ là tự nguyện "
            "và chịu trách nhiệm trước pháp luật về cam đoan của mình.",
            req["address"].sign_place(rnd), rand_date(rnd, 2024, 2025), title_case(req["name"]))


def neg_nhan_cha_me_con(P, rnd):
    py = rnd.randint(1965, 1995)
    parent = make_person(rnd, rnd.choice(["Nam", "Nữ"]), py, py)
    child = make_person(rnd, rnd.choice(["Nam", "Nữ"]), py + 20, min(2022, py + 32), parent["ethnic"],
                        surname=parent["name"].split()[0])
    P.header("TỜ KHAI ĐĂNG KÝ NHẬN CHA, MẸ, CON")
    kinh_gui(P, rnd, parent["address"])
    P.row([L("Họ, chữ đệm, tên người yêu cầu:", parent["name"], style="Bold")])
    P.row([L("Nơi cư trú:", str(parent["address"]), marker="(2)")])
    P.row([L("Giấy tờ tùy thân:", id_paper(rnd, parent), marker="(3)")])
    P.row([L("Quan hệ với người được nhận là cha, mẹ, con:", "Cha" if parent["sex"] == "Nam" else "Mẹ")])
    P.row([L("Đề nghị cơ quan công nhận người có tên dưới đây:", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", parent["name"], style="Bold")])
    person_rows(P, rnd, parent, sex_row=False, paper=False)
    P.row([L("Là", "cha" if parent["sex"] == "Nam" else "mẹ", lead=True, min_lead=P.ls * 2),
           L("của người có tên dưới đây:", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", child["name"], style="Bold")])
    person_rows(P, rnd, child, sex_row=False)
    closing(P, rnd, "Tôi cam đoan việc nhận cha, mẹ, con nêu trên là đúng sự thật, tự nguyện, không có tranh "
            "chấp và chịu trách nhiệm trước pháp luật về cam đoan của mình.",
            parent["address"].sign_place(rnd), rand_date(rnd, 2024, 2025), title_case(parent["name"]))


def neg_trich_luc(P, rnd):
    y = rnd.randint(1950, 2015)
    p = make_person(rnd, rnd.choice(["Nam", "Nữ"]), y, y)
    req = p if rnd.random() < 0.6 else make_person(rnd, "Nữ", y - 25, y - 25, p["ethnic"], address=p["address"])
    kind = rnd.choice(["khai sinh", "kết hôn", "khai tử"])
    P.header("PHIẾU YÊU CẦU CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH")
    kinh_gui(P, rnd, req["address"])
    P.row([L("Họ, chữ đệm, tên người yêu cầu:", req["name"], style="Bold")])
    P.row([L("Nơi cư trú:", str(req["address"]), marker="(2)")])
    P.row([L("Giấy tờ tùy thân:", id_paper(rnd, req), marker="(3)")])
    P.row([L("Quan hệ với người được cấp bản sao trích lục hộ tịch:", "Bản thân" if req is p else "Mẹ")])
    P.row([L(f"Đề nghị cấp bản sao trích lục {kind} cho người có tên dưới đây:", style="Bold", lead=False)])
    P.row([L("Họ, chữ đệm, tên:", p["name"], style="Bold")])
    person_rows(P, rnd, p)
    P.row([L("Đã đăng ký tại:", "UBND " + Address(rnd).ward, marker="(4)")])
    reg = rand_date(rnd, max(1960, y), min(2024, y + 2) if kind == "khai sinh" else 2024)
    P.row([L("Số:", f"{rnd.randint(1, 300):02d}", min_lead=P.ls), L("Quyển số:", f"{rnd.randint(1, 5):02d}/{reg.year}", min_lead=P.ls),
           L("ngày đăng ký:", dmy(reg))])
    P.row([L("Số lượng bản sao đề nghị cấp:", f"{rnd.randint(1, 4):02d} bản")])
    P.gap(0.3)
    P.sign(date_cells=made_at(P, rnd, req["address"].sign_place(rnd), rand_date(rnd, 2024, 2025)),
           name=title_case(req["name"]))


# -------------------------------------------------------------------------------------- ID card

def card_background(img, rnd):
    d = ImageDraw.Draw(img)
    w, h = img.size
    base = rnd.choice([(232, 240, 232), (236, 236, 244), (240, 238, 228)])
    d.rectangle([0, 0, w, h], fill=base)
    line = tuple(c - 18 for c in base)
    ph = rnd.uniform(0, 6.28)
    for k in range(0, h + 120, 26):
        pts = [(x, k + 18 * math.sin(x / 90 + ph + k / 70)) for x in range(0, w + 20, 20)]
        d.line(pts, fill=line, width=2)
    for r in range(60, int(w * 0.5), 34):
        d.ellipse([w * 0.62 - r, h * 0.55 - r * 0.7, w * 0.62 + r, h * 0.55 + r * 0.7], outline=line, width=1)


def doc_cccd(lab, val, rnd, scale):
    """The front of a chip ID card at 600 dpi; returns (image, lines, fields)."""
    W, H = 2022, 1276
    img = Image.new("RGB", (W, H))
    card_background(img, rnd)
    d = ImageDraw.Draw(img)
    ls = rnd.uniform(46, 54) * scale
    vs = ls * rnd.uniform(0.95, 1.25)
    if val["kind"] == "mono":
        vs = min(vs, ls * 1.05)
    lf = lambda st="Regular", m=1.0: font(lab["faces"].get(st) or lab["faces"]["Regular"], ls * m)
    vf = lambda m=1.0: font(val["path"], vs * m)
    sex = rnd.choice(["Nam", "Nữ"])
    while True:
        issued = rand_date(rnd, 2016, 2024)
        dob = rand_date(rnd, 1950, issued.year - 14)
        if dob.month == 2 and dob.day == 29:
            continue
        ms = [m for m in (25, 40, 60) if dob.year + m > issued.year + 2]
        if ms:
            break
    expiry = dob.replace(year=dob.year + ms[0])
    ethnic = ethnic_of(rnd)
    name = full_name(rnd, sex, ethnic)
    code = rnd.choice(list(PROVINCES))
    pid = make_pid(rnd, code, dob.year, sex)
    og = origin(rnd)
    residence = str(Address(rnd)) if rnd.random() < 0.5 else None
    lines = []

    def draw(x, base, s, f, fill=INK):
        assert not set(s) - CHARSET, s
        d.text((x, base), s, font=f, fill=fill, anchor="ls")
        return f.getlength(s)

    def centered(s, f, base, x0, x1, fill=INK):
        draw((x0 + x1 - f.getlength(s)) / 2, base, s, f, fill)
        lines.append(s)

    hx0, hx1 = W * 0.26, W * 0.98
    # emblem and portrait: pictures the page finder has to leave alone
    ex, ey, er = W * 0.13, H * 0.15, H * 0.1
    d.ellipse([ex - er, ey - er, ex + er, ey + er], fill=(200, 40, 40), outline=(230, 190, 60), width=8)
    star(d, ex, ey, er * 0.55, (240, 200, 60))
    px0, py0, px1, py1 = W * 0.04, H * 0.3, W * 0.265, H * 0.74
    d.rectangle([px0, py0, px1, py1], fill=(190, 192, 196), outline=(120, 120, 120), width=3)
    y = H * 0.09
    step = ls * 1.32
    centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", lf("Bold", 0.95), y, hx0, hx1)
    y += step * 0.85
    centered("Độc lập - Tự do - Hạnh phúc", lf("Bold", 0.92), y, hx0, hx1)
    y += step * 1.15
    centered("CĂN CƯỚC CÔNG DÂN", lf("Bold", 1.35), y, hx0, hx1, fill=(185, 30, 35))
    x = W * 0.29
    y += step * 1.1
    w = draw(x, y, "Số / No.:", lf())
    draw(x + w + ls * 0.4, y, pid, vf(1.15))
    lines.append(f"Số / No.: {pid}")
    y += step * 1.1
    draw(x, y, "Họ và tên / Full name:", lf())
    lines.append("Họ và tên / Full name:")
    y += step * 1.05
    draw(x, y, name, vf(1.1))
    lines.append(name)
    y += step

    def field(label, value):
        nonlocal y
        w = draw(x, y, label, lf())
        draw(x + w + ls * 0.35, y, value, vf())
        lines.append(f"{label} {value}")
        y += step

    field("Ngày sinh / Date of birth:", dmy(dob))
    if rnd.random() < 0.5:
        w = draw(x, y, "Giới tính / Sex:", lf())
        w += draw(x + w + ls * 0.35, y, sex, vf()) + ls * 0.35
        x2 = max(x + w + ls * 1.5, W * 0.58)
        w2 = draw(x2, y, "Quốc tịch / Nationality:", lf())
        draw(x2 + w2 + ls * 0.35, y, "Việt Nam", vf())
        lines.append(f"Giới tính / Sex: {sex} Quốc tịch / Nationality: Việt Nam")
        y += step
    else:
        field("Giới tính / Sex:", sex)
        field("Quốc tịch / Nationality:", "Việt Nam")

    def block(label, value):
        nonlocal y
        draw(x, y, label, lf())
        lines.append(label)
        y += step
        words = value.split()
        while words:
            n = max(1, fit(words, vf(), W * 0.97 - x, vf().getlength(" ")))
            piece = " ".join(words[:n])
            draw(x, y, piece, vf())
            lines.append(piece)
            words = words[n:]
            y += step

    block("Quê quán / Place of origin:", og)
    if residence:
        block("Nơi thường trú / Place of residence:", residence)
    exp_label = rnd.choice(["Có giá trị đến:", "Có giá trị đến:", "Có giá trị đến / Date of expiry:"])
    room = x - px0 - ls * 0.4  # the column under the portrait
    m = min(0.82, 0.82 * room / lf("Regular", 0.82).getlength(exp_label))
    ef = lf("Regular", m)
    eb = py1 + ls * 1.6
    w = draw(px0, eb, exp_label, ef)
    if px0 + w + ls * 0.3 + vf(0.85).getlength(dmy(expiry)) > x - ls * 0.3:
        eb += ls * 1.1
        draw(px0, eb, dmy(expiry), vf(0.85))
        lines.append(exp_label)
        lines.append(dmy(expiry))
    else:
        draw(px0 + w + ls * 0.3, eb, dmy(expiry), vf(0.85))
        lines.append(f"{exp_label} {dmy(expiry)}")
    if y - step > H * 0.97 or eb > H * 0.97:
        raise Overflow()
    fields = {"pid": pid, "name": name, "dob": dmy(dob), "sex": sex, "nationality": "Việt Nam",
              "origin": og, "expiry": dmy(expiry)}
    return img, lines, fields


def star(d, cx, cy, r, fill):
    pts = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else r * 0.4
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    d.polygon(pts, fill=fill)


# ------------------------------------------------------------------------------------- delivery

def rotate(img, deg, fill):
    """Turns img clockwise by deg (the corpus' skew_deg sign), keeping all of it."""
    return img.rotate(-deg, resample=Image.BICUBIC, expand=True, fillcolor=fill)


def noise(img, rnd, sigma):
    n = Image.effect_noise(img.size, sigma)
    if img.mode == "RGB":
        n = Image.merge("RGB", (n, n, n))
    return ImageChops.add(img, n, 1.0, -128)


def scale_to(img, src_dpi, dpi):
    if abs(dpi - src_dpi) < 0.5:
        return img
    return img.resize((round(img.width * dpi / src_dpi), round(img.height * dpi / src_dpi)), Image.LANCZOS)


def lighting(img, rnd, depth):
    w, h = img.size
    # a gradient turned at random, cut from the middle of a larger one so no corner is left unlit
    g = Image.linear_gradient("L").resize((512, 512), Image.BILINEAR)
    g = g.rotate(rnd.choice([0, 90, 180, 270]) + rnd.uniform(-30, 30), resample=Image.BICUBIC)
    g = g.crop((128, 128, 384, 384)).resize((w, h), Image.BILINEAR)
    shade = g.point(lambda v: int(255 - v * depth))
    cast = rnd.choice([(255, 240, 212), (255, 248, 232), (228, 238, 255), (245, 250, 235)])
    layer = Image.merge("RGB", [shade.point(lambda v, c=c: v * c // 255) for c in cast])
    return ImageChops.multiply(img, layer)


def seal(img, rnd, box, lab, text):
    """A red round seal with ring lettering and a star, centred near the signature block."""
    x0, y0, x1, y1 = box
    r = rnd.uniform(210, 250)
    cx = (x0 + x1) / 2 - r * rnd.uniform(0.3, 0.8)
    cy = y0 + r * rnd.uniform(0.5, 1.0)
    size = int(2 * r + 20)
    layer = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(layer)
    c = size / 2
    d.ellipse([c - r, c - r, c + r, c + r], outline=255, width=int(r * 0.05))
    d.ellipse([c - r * 0.72, c - r * 0.72, c + r * 0.72, c + r * 0.72], outline=255, width=int(r * 0.025))
    star(d, c, c, r * 0.3, 255)
    f = font(lab["faces"].get("Bold") or lab["faces"]["Regular"], r * 0.17)
    total = sum(f.getlength(ch) for ch in text) * 1.15
    rt = r * 0.84
    span = min(total / rt, math.radians(320))
    a = -math.pi / 2 - span / 2
    k = span / total
    for ch in text:
        adv = f.getlength(ch) * 1.15
        am = a + adv * k / 2
        g = Image.new("L", (int(r * 0.3), int(r * 0.3)), 0)
        ImageDraw.Draw(g).text((g.width / 2, g.height / 2), ch, font=f, fill=255, anchor="mm")
        g = g.rotate(-math.degrees(am) - 90, resample=Image.BICUBIC)
        px, py = c + rt * math.cos(am), c + rt * math.sin(am)
        layer.paste(255, (int(px - g.width / 2), int(py - g.height / 2)), g)
        a += adv * k
    # worn ink: specks missing
    holes = Image.effect_noise(layer.size, 60).point(lambda v: 0 if v > 200 else 255)
    layer = ImageChops.multiply(layer, holes).filter(ImageFilter.GaussianBlur(1.2))
    layer = layer.point(lambda v: int(v * rnd.uniform(0.75, 0.9)))
    red = Image.new("RGB", layer.size, rnd.choice([(200, 30, 45), (215, 50, 60), (185, 25, 60)]))
    patch = img.crop((int(cx - c), int(cy - c), int(cx - c) + size, int(cy - c) + size))
    inked = ImageChops.multiply(patch, red)
    patch.paste(inked, (0, 0), layer)
    img.paste(patch, (int(cx - c), int(cy - c)))


PAGE_PROFILES = ["clean", "scan", "fax", "phone", "stamp", "upside"]
CARD_PROFILES = ["clean", "scan", "phone", "upside", "scan", "phone"]


def deliver(master, dpi, profile, rnd, sig, lab, seal_text, standard_fax=False):
    """(image, truth keys, save format, save options)."""
    meta = {"dpi": dpi, "orientation": 0, "skew_deg": 0.0}
    card = dpi == 600
    if profile == "clean":
        return master.convert("L"), meta, "PNG", {"dpi": (dpi, dpi)}
    if profile == "scan":
        out = rnd.choice([200, 300, 600]) if card else rnd.choice([200, 240, 300])
        g = master.convert("L")
        if card:
            m = int(g.width * rnd.uniform(0.02, 0.06))
            bg = Image.new("L", (g.width + 2 * m, g.height + 2 * m), rnd.randint(244, 252))
            bg.paste(g, (m, m))
            g = bg
        g = scale_to(g, dpi, out)
        skew = round(rnd.uniform(-2.5, 2.5), 2)
        g = rotate(g, skew, rnd.randint(238, 252))
        if rnd.random() < 0.4:  # the scanner lid's dark edge
            ImageDraw.Draw(g).rectangle([0, 0, g.width, int(g.height * rnd.uniform(0.005, 0.015))], fill=rnd.randint(30, 70))
        g = noise(g, rnd, rnd.uniform(5, 10)).filter(ImageFilter.GaussianBlur(rnd.uniform(0.3, 0.7)))
        meta.update(dpi=out, skew_deg=skew)
        return g, meta, "JPEG", {"quality": rnd.randint(62, 85), "dpi": (out, out)}
    if profile == "fax":
        standard = standard_fax
        g = scale_to(master.convert("L"), dpi, 200)
        skew = round(rnd.uniform(-0.8, 0.8), 2)
        g = rotate(g, skew, 255)
        if standard:
            g = g.resize((g.width, g.height // 2), Image.BOX)
        t = rnd.randint(145, 175)
        bw = g.point(lambda v: 255 if v > t else 0).convert("1")
        meta.update(dpi=200, skew_deg=skew)
        if standard:
            meta["ydpi"] = 100
        return bw, meta, "TIFF", {"compression": "group4", "dpi": (200, 100 if standard else 200)}
    if profile == "phone":
        c = master.convert("RGB")
        out = rnd.uniform(330, 400) if card else rnd.uniform(150, 200)
        out = int(out)
        c = scale_to(c, dpi, out)
        m = int(c.width * rnd.uniform(0.05, 0.1)) if not card else int(c.width * rnd.uniform(0.12, 0.25))
        desk = rnd.choice([(62, 52, 44), (40, 40, 44), (90, 70, 50), (55, 60, 58)])
        canvas = Image.new("RGB", (c.width + 2 * m, c.height + int(2.2 * m)), desk)
        canvas = noise(canvas, rnd, 12)
        angle = round(rnd.uniform(-5, 5), 2)
        turned = c.rotate(-angle, resample=Image.BICUBIC, expand=True)
        mask = Image.new("L", c.size, 255).rotate(-angle, resample=Image.BICUBIC, expand=True)
        canvas.paste(turned, ((canvas.width - turned.width) // 2, (canvas.height - turned.height) // 2), mask)
        canvas = lighting(canvas, rnd, rnd.uniform(0.22, 0.4))
        canvas = canvas.filter(ImageFilter.GaussianBlur(rnd.uniform(0.6, 1.1)))
        canvas = noise(canvas, rnd, rnd.uniform(4, 8))
        meta.update(dpi=out, skew_deg=angle)
        return canvas, meta, "JPEG", {"quality": rnd.randint(72, 88), "dpi": (out, out)}
    if profile == "stamp":
        c = master.convert("RGB")
        seal(c, rnd, sig, lab, seal_text)
        out = rnd.choice([200, 300, 300])
        c = scale_to(c, dpi, out)
        skew = round(rnd.uniform(-2.5, 2.5), 2)
        c = rotate(c, skew, (245, 245, 242))
        c = noise(c, rnd, rnd.uniform(3, 6))
        meta.update(dpi=out, skew_deg=skew)
        return c, meta, "JPEG", {"quality": rnd.randint(75, 90), "dpi": (out, out)}
    if profile == "upside":
        o = rnd.choice([90, 180, 270]) if not card else rnd.choice([180, 180, 90, 270])
        g = master.convert("L").rotate(-o, expand=True)  # turned clockwise by o; undo: rotate(o)
        meta["orientation"] = o
        return g, meta, "JPEG", {"quality": 88, "dpi": (dpi, dpi)}
    raise ValueError(profile)


# ----------------------------------------------------------------------------------------- main

DOCS = [  # (doc_type, layout, renderer, fills)
    ("birth_declaration", "dev", doc_birth_dev, ("flow", "flow", "overlay")),
    ("birth_declaration", "tt04", doc_birth_tt04, ("flow", "overlay")),
    ("marriage_declaration", "dev", doc_marriage_dev, ("flow", "flow", "overlay")),
    ("cccd", "card", None, ("flow",)),
    ("death_declaration", "tt04", doc_death, ("flow", "overlay")),
    ("marital_status_declaration", "tt04", doc_marital, ("flow", "overlay")),
]
NEGATIVES = [("lien_thong", neg_lien_thong), ("giam_ho", neg_giam_ho),
             ("nhan_cha_me_con", neg_nhan_cha_me_con), ("trich_luc", neg_trich_luc)]
NEG_PROFILES = ["scan", "phone", "clean", "fax", "stamp", "upside"]
EXT = {"JPEG": "jpg", "TIFF": "tif", "PNG": "png"}


def pick_faces(rnd, fams):
    by_kind = lambda k: [f for f in fams if f["kind"] == k]
    kind = rnd.choices(["serif", "sans", "mono"], [0.6, 0.3, 0.1])[0]
    lab = rnd.choice(by_kind(kind))
    if rnd.random() < 0.8 or len(lab["faces"]) == 1:
        vk = rnd.choices(["serif", "sans", "mono"], [0.35, 0.45, 0.2])[0]
        others = [f for f in by_kind(vk) if f is not lab] or [f for f in fams if f is not lab]
        vfam = rnd.choice(others)
        styles = [s for s in ("Regular", "Bold", "Italic", "Bold Italic") if s in vfam["faces"]]
        weights = [{"Regular": 0.5, "Bold": 0.25, "Italic": 0.2, "Bold Italic": 0.05}[s] for s in styles]
        style = rnd.choices(styles, weights)[0]
    else:
        vfam = lab
        style = rnd.choice([s for s in lab["faces"] if s != "Regular"])
    val = {"name": f"{vfam['name']} {style}", "path": vfam["faces"][style], "kind": vfam["kind"]}
    return lab, val


def seal_text(addr):
    second = addr.province if addr.two_level else addr.district
    return f"ỦY BAN NHÂN DÂN {addr.ward.upper()} - {second.upper()} - "


def render(kind_fn, rnd_seed, fams, fill, card=False):
    """Lays a page out, shrinking the type until it fits."""
    scale = 1.0
    for _ in range(12):
        rnd = random.Random(rnd_seed)
        lab, val = pick_faces(rnd, fams)
        try:
            if card:
                img, lines, fields = doc_cccd(lab, val, rnd, scale)
                return img, lines, fields, lab, val, None, None
            P = Page((2480, 3508), lab, val, rnd, scale, fill)
            fields = kind_fn(P, rnd)
            return P.img, P.lines, fields or {}, lab, val, P.sig, P.office
        except Overflow:
            scale *= 0.93
    raise RuntimeError(f"page {rnd_seed} does not fit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-type", type=int, default=6, help="pages per document type and layout, per split")
    ap.add_argument("--negatives", type=int, default=4, help="negative pages per split")
    a = ap.parse_args()
    families = load_families()
    for split in ("tune", "heldout"):
        fams = families[split]
        odir = os.path.join(a.out, split)
        os.makedirs(odir, exist_ok=True)
        jobs = []
        for ti, (doc_type, layout, fn, fills) in enumerate(DOCS):
            profiles = CARD_PROFILES if doc_type == "cccd" else PAGE_PROFILES
            for k in range(a.per_type):
                jobs.append((doc_type, layout, fn, fills[k % len(fills)], profiles[(k + ti) % len(profiles)]))
        for k in range(a.negatives):
            layout, fn = NEGATIVES[k % len(NEGATIVES)]
            jobs.append(("form", layout, fn, ("flow", "overlay")[k % 2], NEG_PROFILES[(k + (split == "heldout") * 3) % 6]))
        rows = []
        faxes = 0
        for n, (doc_type, layout, fn, fill, profile) in enumerate(jobs):
            seed = f"{a.seed}-{split}-{n}-{doc_type}-{layout}"
            card = doc_type == "cccd"
            img, lines, fields, lab, val, sig, office = render(fn, seed, fams, fill, card)
            drnd = random.Random(seed + "-" + profile)
            dpi = 600 if card else 300
            out, meta, fmt, opts = deliver(img, dpi, profile, drnd, sig, lab, office and seal_text(office),
                                           standard_fax=faxes % 2 == 1)
            faxes += profile == "fax"
            name = f"gen-{n:03d}-{doc_type}-{profile}.{EXT[fmt]}"
            out.save(os.path.join(odir, name), fmt, **opts)
            row = {"file": name, "doc_type": doc_type, "profile": profile, "blank": False,
                   "text": unicodedata.normalize("NFC", "\n".join(lines)),
                   "fields": {k: unicodedata.normalize("NFC", v) for k, v in fields.items()}}
            row.update(meta)
            row.update(label_font=lab["name"] + " Regular", value_font=val["name"], font_split=split,
                       layout=layout, fill="overlay" if fill == "overlay" and not card else "flow")
            if profile == "stamp":
                row["seal"] = "synthetic"
            rows.append(row)
            print(f"{split}/{name}: {row['label_font']} / {row['value_font']}", file=sys.stderr)
        with open(os.path.join(odir, "truth.jsonl"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{split}: {len(rows)} pages")


if __name__ == "__main__":
    main()
