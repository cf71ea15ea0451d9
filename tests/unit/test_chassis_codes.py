import datetime as dt

import pytest

from onestop_chassis import codes

UNIT = "000.00.21.H17"


def test_dossier_code_is_zero_padded():
    assert codes.dossier_code(UNIT, dt.date(2026, 11, 23), 1) == "000.00.21.H17-261123-0001"
    assert codes.dossier_code(UNIT, dt.date(2027, 1, 5), 9999) == "000.00.21.H17-270105-9999"


def test_dossier_code_widens_past_9999():
    code = codes.dossier_code(UNIT, dt.date(2026, 11, 23), 10000)
    assert code == "000.00.21.H17-261123-10000"
    assert codes.is_dossier_code(code)


@pytest.mark.parametrize("unit, sequence", [("H17", 1), (UNIT, 0), (UNIT, -1)])
def test_dossier_code_refuses_bad_input(unit, sequence):
    with pytest.raises(ValueError):
        codes.dossier_code(unit, dt.date(2026, 11, 23), sequence)


@pytest.mark.parametrize("value", ["000.00.21.H17", "G22.39.01.ABC", "H17.00.00.000"])
def test_unit_codes_accepted(value):
    assert codes.is_unit_code(value)


@pytest.mark.parametrize("value", [
    "", "000.00.21", "000.00.21.H1", "000.00.21.H177", "000-00-21-H17", "000.00.21.h17",
    " 000.00.21.H17", "000.00.21.H17 ", "000.00.21.H17\n",
])
def test_malformed_unit_codes_rejected(value):
    assert not codes.is_unit_code(value)


@pytest.mark.parametrize("value", ["000.00.21.H17-261123-0001", "000.00.21.H17-261123-12345"])
def test_dossier_codes_accepted(value):
    assert codes.is_dossier_code(value)


@pytest.mark.parametrize("value", [
    "", "000.00.21.H17", "000.00.21.H17-261123-001", "000.00.21.H17-26112-0001",
    "000.00.21.H17-261123", "000.00.21.h17-261123-0001", "000.00.21.H17_261123_0001",
    "000.00.21.H17-261123-0001\n",
])
def test_malformed_dossier_codes_rejected(value):
    assert not codes.is_dossier_code(value)


def test_unit_of_a_dossier_code_is_its_receiving_unit():
    assert codes.unit_of("000.00.21.H17-261123-0001") == "000.00.21.H17"
    assert codes.unit_of("G22.39.01.ABC-270105-12345") == "G22.39.01.ABC"


@pytest.mark.parametrize("value", ["", "000.00.21.H17", "000.00.21.h17-261123-0001"])
def test_unit_of_refuses_what_is_not_a_dossier_code(value):
    with pytest.raises(ValueError, match="not a dossier code"):
        codes.unit_of(value)
