"""The invitation's link as a QR code, PNG (the pinned `qrcode` library, drawn with Pillow)."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants


def png(text: str, box_size: int = 8) -> bytes:
    """`text` as a QR code PNG: error correction M, a quiet zone of 4 modules, `box_size` pixels
    a module (about 2.5 cm at 300 dpi for a link of 50 characters: big enough to scan from paper)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
