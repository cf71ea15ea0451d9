"""Demo units and procedures that `make run` loads (dữ liệu mẫu).

Durations are the legal limits the laws set. The national procedure codes of these procedures are
not recorded here, so they carry local codes (prefix "DP.") instead of invented national ones; the
full catalogue with national codes is the intake catalogue issue's work.
"""

from .domain import Procedure, Unit, WorkingDuration

PROVINCE = Unit("000.00.00.H17", "UBND tỉnh (dữ liệu mẫu)")
UNITS = [
    PROVINCE,
    Unit("000.00.21.H17", "Trung tâm Phục vụ hành chính công tỉnh (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.11.H17", "Sở Xây dựng (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.12.H17", "Sở Tư pháp (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.20.31.H17", "UBND xã Phú Lộc (dữ liệu mẫu)", PROVINCE.code),
]
PROCEDURES = [
    Procedure("DP.DN.0001", "Đăng ký thành lập doanh nghiệp tư nhân", WorkingDuration(days=3), "000.00.21.H17"),
    Procedure("DP.XD.0001", "Cấp giấy phép xây dựng nhà ở riêng lẻ", WorkingDuration(days=15), "000.00.11.H17"),
    Procedure("DP.TP.0001", "Cấp Phiếu lý lịch tư pháp", WorkingDuration(days=10), "000.00.12.H17"),
    Procedure("DP.HT.0001", "Đăng ký khai sinh", WorkingDuration(hours=4), "000.20.31.H17"),
    Procedure("DP.HT.0002", "Đăng ký kết hôn (thủ tục cũ, ngừng áp dụng)", WorkingDuration(days=5),
              "000.20.31.H17", active=False),
]
