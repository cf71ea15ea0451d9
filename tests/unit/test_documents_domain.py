"""Documents domain rules and the streaming reader, without servers."""

from __future__ import annotations

import hashlib
import os

import pytest

from onestop_chassis.errors import InvalidArgument
from onestop_documents import domain
from onestop_documents.adapters.peers import parse_peers
from onestop_documents.incoming import IncomingFile

GOOD = domain.UploadRequest("r-1", "000.00.21.H17-261123-0001", 1, "Giấy đề nghị", "don.pdf", "", "")


def test_a_good_upload_request_passes():
    domain.validate_upload(GOOD)


@pytest.mark.parametrize("changes, field", [
    ({"dossier_code": "HS-1"}, "dossier_code"),
    ({"kind": 0}, "kind"),
    ({"kind": 9}, "kind"),
    ({"component": "  "}, "component"),
    ({"component": "x" * 301}, "component"),
    ({"sha256": "ABC"}, "sha256"),
    ({"sha256": "A" * 64}, "sha256"),
    ({"agency_code": "H17"}, "agency_code"),
    ({"request_id": "r" * 129}, "request_id"),
])
def test_bad_upload_requests_name_the_field(changes, field):
    with pytest.raises(InvalidArgument) as refused:
        domain.validate_upload(domain.UploadRequest(**{**GOOD.__dict__, **changes}))
    assert [v.field for v in refused.value.violations] == [field]


@pytest.mark.parametrize("head, name, mime", [
    (b"%PDF-1.7\n", "a.pdf", "application/pdf"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a.JPG", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "", "image/png"),
    (b"MM\x00*\x00\x00\x00\x08", "scan.tiff", "image/tiff"),
    (b"%PDF-1.4\n", "no-extension", "application/pdf"),
    (b"%PDF-1.4\n", "ho-so.docx", "application/pdf"),  # an unknown extension claims nothing
])
def test_accepted_types_are_recognised_from_the_bytes(head, name, mime):
    assert domain.sniff(head + os.urandom(1024), name) == mime


@pytest.mark.parametrize("data, name, reason", [
    (b"", "a.pdf", "EMPTY_FILE"),
    (b"PK\x03\x04" + os.urandom(1024), "a.zip", "UNSUPPORTED_TYPE"),
    (b"GIF89a" + os.urandom(1024), "a.gif", "UNSUPPORTED_TYPE"),
    (b"plain text, not a scan", "a.pdf", "UNSUPPORTED_TYPE"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(1024), "scan.pdf", "CONTENT_TYPE_MISMATCH"),
    (b"%PDF-1.7\n" + os.urandom(1024), "scan.png", "CONTENT_TYPE_MISMATCH"),
])
def test_refused_content(data, name, reason):
    with pytest.raises(InvalidArgument) as refused:
        domain.sniff(data, name)
    assert refused.value.reason == reason


def test_bucket_names_are_valid_s3_names_per_agency():
    assert domain.bucket_for("000.00.21.H17") == "onestop-000-00-21-h17"
    assert domain.bucket_for("000.00.21.H17", "onestop-hue") == "onestop-hue-000-00-21-h17"


def test_incoming_file_hashes_counts_and_reads_in_any_sizes():
    data = os.urandom(3 * 1024 * 1024 + 17)
    incoming = IncomingFile((data[i:i + 65536] for i in range(0, len(data), 65536)), limit=len(data))
    head = incoming.head()
    assert head == data[:domain.SNIFF_BYTES]
    out = bytearray()
    while piece := incoming.read(1_000_003):
        out += piece
    assert bytes(out) == data and incoming.size == len(data)
    assert incoming.sha256 == hashlib.sha256(data).hexdigest()


def test_incoming_file_refuses_past_the_limit_and_stops_reading():
    pulled = []

    def chunks():
        for i in range(100):
            pulled.append(i)
            yield b"x" * 1000
    incoming = IncomingFile(chunks(), limit=2500)
    with pytest.raises(InvalidArgument) as refused:
        incoming.read()
    assert refused.value.reason == "FILE_TOO_LARGE" and len(pulled) == 3


def test_drain_hashes_without_keeping():
    data = os.urandom(200_000)
    incoming = IncomingFile([data[:100_000], data[100_000:]], limit=10**6)
    incoming.drain()
    assert incoming.sha256 == hashlib.sha256(data).hexdigest() and incoming.read() == b""


def test_peer_directory_parsing():
    assert parse_peers("000.00.11.H17=127.0.0.1:60053, 000.00.12.H17=docs:50053") == {
        "000.00.11.H17": "127.0.0.1:60053", "000.00.12.H17": "docs:50053"}
    assert parse_peers("") == {}
    with pytest.raises(ValueError, match="DOCUMENTS_PEERS"):
        parse_peers("000.00.11.H17")
