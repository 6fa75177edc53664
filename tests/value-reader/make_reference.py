"""Makes the value reader's reference table: crops rendered here (DejaVu Sans, our own text), read
by the asterocr 1.0.2 package's own ONNX path (asterocr/pipeline.py: preprocess_image, decode_ctc)
with onnxruntime on the model as shipped. Run once; the Rust reader is tested against the table.

    python make_reference.py ASTERNET_ONNX VOCAB_JSON OUT_DIR
"""
import json, sys
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageDraw, ImageFont

model, vocab_path, out = sys.argv[1:4]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# (text, strip height, font size): 32-px strips need no resampling; the others test it.
CROPS = [
    ("NGUYỄN THỊ HƯỜNG", 32, 20), ("07/07/2022", 32, 20), ("072092535815", 32, 20),
    ("Nữ", 32, 20), ("Kinh", 32, 20), ("Việt Nam", 32, 20), ("HUỲNH VĂN ĐỨC", 32, 20),
    ("Phường Bến Nghé, Quận 1", 32, 19), ("1997", 32, 20),
    ("Trần Đức Lượng", 48, 30), ("15/08/1990", 64, 40), ("Hà Nội", 24, 15),
]

def render(text, h, size):
    font = ImageFont.truetype(FONT, size)
    x0, y0, x1, y1 = font.getbbox(text)
    w = x1 - x0 + 8
    w = (w + 3) // 4 * 4 if h == 32 else w
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    d.text((4 - x0, (h - (y1 - y0)) // 2 - y0), text, font=font, fill=0)
    return img

# asterocr/pipeline.py, AsterPipeline.preprocess_image and decode_ctc, as shipped.
def preprocess_image(image):
    image = image.convert("RGB")
    w, h = image.size
    target_h = 32
    target_w = max(32, int(w * target_h / h))
    target_w = (target_w + 3) // 4 * 4
    resized = image.resize((target_w, target_h), Image.Resampling.BILINEAR)
    arr = np.array(resized, dtype=np.float32) / 255.0
    arr = (arr - 0.5) / 0.5
    return np.transpose(arr, (2, 0, 1))[np.newaxis, ...]

chars = json.load(open(vocab_path))["chars"]
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
rows = []
for i, (text, h, size) in enumerate(CROPS):
    img = render(text, h, size)
    name = f"crop-{i:02}.png"
    img.save(f"{out}/{name}")
    lp = sess.run(None, {sess.get_inputs()[0].name: preprocess_image(img)})[0][:, 0, :]
    best = lp.argmax(axis=-1)
    prev, got = -1, []
    for idx in best:
        if idx != prev and idx != 0:
            got.append(chars[idx])
        prev = idx
    rows.append({"file": name, "rendered": text, "text": "".join(got), "width": img.size[0],
                 "height": h, "path": best.tolist(),
                 "best_log_prob": [round(float(v), 5) for v in lp.max(axis=-1)]})
    print(name, text, "->", "".join(got), lp.shape)
json.dump(rows, open(f"{out}/reference.json", "w"), ensure_ascii=False, indent=0)
