"""What an upload really is, from its bytes: a PDF, a Word or Excel file (a ZIP holding
``word/document.xml`` or ``xl/workbook.xml``, checked against ZIP bombs before anything parses it),
or text; old binary Office/WPS files, images, archives and other binaries are refused with a
message saying what to upload instead."""

from __future__ import annotations

import io
import zipfile

from knowledge.errors import IngestError

MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL = 64 * 1024 * 1024      # bytes, all members uncompressed (a 2 MB docx is well under it)
MAX_ZIP_XML_PART = 24 * 1024 * 1024   # bytes, one XML part uncompressed (what the parsers load whole)

ACCEPTED = "目前可以读取：网页（.html）、Word 文档（.docx）、Excel 表格（.xlsx）、文字版 PDF 和纯文本（.txt）。"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
           (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))
_ARCHIVES = (b"\x1f\x8b", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"BZh")


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _is_text(data: bytes) -> bool:
    try:
        return b"\x00" not in data and bool(data.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def refuse(message: str, name: str) -> IngestError:
    return IngestError(message, detail=name)


def _ole_refusal(data: bytes, name: str) -> IngestError:
    """An OLE2 compound file: old Word/WPS (.doc/.wps), Excel/WPS (.xls/.et) or a password-protected
    Office file (an encrypted .docx/.xlsx is stored in one). Its stream names say which."""
    if _utf16("EncryptedPackage") in data:
        return refuse("文件设置了打开密码，无法读取。请取消密码后另存为 .docx、.xlsx 或 PDF，再重新上传。", name)
    if _utf16("Workbook") in data or _utf16("Book\x00") in data:
        return refuse("这是旧版 Excel/WPS 表格（.xls 或 .et），无法直接读取。请用 Excel 或 WPS 打开后"
                      "“另存为” .xlsx（或 PDF），再重新上传。", name)
    if _utf16("PowerPoint Document") in data:
        return refuse("这是演示文稿（.ppt 或 .dps），无法读取。请上传清单的 Word（.docx）、Excel（.xlsx）"
                      "或 PDF 文件。", name)
    return refuse("这是旧版 Word/WPS 文档（.doc 或 .wps），无法直接读取。请用 Word 或 WPS 打开后"
                  "“另存为” .docx 或 PDF，再重新上传。", name)


def open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """The ZIP in ``data``, refused when it is broken or would unpack to too much. The sizes are the
    ones the central directory declares, which are what ``zipfile`` reads at most (a member that
    inflates past its declared size fails its CRC check instead of filling memory)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise refuse("文件已损坏，无法打开。请用 Word、WPS 或 Excel 重新保存后上传。", name) from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise refuse("文件内部结构异常（包含的部件过多），已拒绝读取。请用 Word、WPS 或 Excel 重新保存后上传。", name)
    total = sum(m.file_size for m in members)
    biggest_xml = max((m.file_size for m in members if m.filename.lower().endswith((".xml", ".rels"))), default=0)
    if total > MAX_ZIP_TOTAL or biggest_xml > MAX_ZIP_XML_PART:
        raise refuse(f"文件解压后过大（超过 {MAX_ZIP_TOTAL // 2 ** 20} MB），可能不是正常的文档，已拒绝读取。"
                     "如确为清单文件，请删除其中的图片后重新保存上传。", name)
    if any(m.flag_bits & 0x1 for m in members):
        raise refuse("文件设置了密码，无法读取。请取消密码后重新保存上传。", name)
    return archive


def _zip_kind(data: bytes, name: str) -> str:
    with open_zip(data, name) as archive:
        names = set(archive.namelist())
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        raise refuse("这是演示文稿（.pptx），无法读取。请上传清单的 Word（.docx）、Excel（.xlsx）或 PDF 文件。", name)
    if "OFD.xml" in names:
        raise refuse("这是 OFD 版式文件，暂不支持。请上传同一文件的 PDF 或 Word 版本。", name)
    if "content.xml" in names and "mimetype" in names:
        raise refuse("这是 OpenDocument 文件（.odt 或 .ods），请另存为 .docx 或 .xlsx 后重新上传。", name)
    raise refuse("这是一个压缩包或不支持的文件，里面没有 Word 文档或 Excel 表格。请直接上传清单文件本身。"
                 + ACCEPTED, name)


def sniff(data: bytes, name: str) -> str:
    """``"pdf"``, ``"docx"``, ``"xlsx"`` or ``"text"`` (text or HTML, decoded later) for ``data``;
    anything else raises ``IngestError``."""
    if not data.strip():
        raise refuse("文件是空的，请重新选择文件上传。", name)
    head = data[:1024]
    at = head.find(b"%PDF-")
    if at >= 0 and (not head[:at].strip(b"\xef\xbb\xbf \t\r\n") or not _is_text(head[:at])):
        return "pdf"  # PDF readers accept binary junk before the header; a text quoting one is text
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data, name)
    if data.startswith(_OLE_MAGIC):
        raise _ole_refusal(data, name)
    for magic, label in _IMAGES:
        if data.startswith(magic):
            raise refuse(f"这是一张图片（{label}），无法识别图片中的文字（不支持 OCR）。" + ACCEPTED, name)
    if (data.startswith(b"RIFF") and data[8:12] == b"WEBP") or data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        raise refuse("这是一张图片，无法识别图片中的文字（不支持 OCR）。" + ACCEPTED, name)
    if data.startswith(b"BM") and b"\x00" in head:
        raise refuse("这是一张图片（BMP），无法识别图片中的文字（不支持 OCR）。" + ACCEPTED, name)
    if data.startswith(b"{\\rtf"):
        raise refuse("这是 RTF 文件，请用 Word 或 WPS 另存为 .docx 后重新上传。", name)
    if data.startswith(_ARCHIVES):
        raise refuse("这是一个压缩包，请解压后直接上传清单文件本身。" + ACCEPTED, name)
    if b"\x00" in data[:8192]:
        raise refuse("无法识别的文件格式。" + ACCEPTED, name)
    return "text"
