"""Demo units that `make run` loads (dữ liệu mẫu); the procedures are in catalogue.yaml.

The unit codes follow the national format but are sample data, as are the names' "(dữ liệu mẫu)".
"""

from .domain import Unit

PROVINCE = Unit("000.00.00.H17", "UBND tỉnh (dữ liệu mẫu)")
UNITS = [
    PROVINCE,
    Unit("000.00.21.H17", "Trung tâm Phục vụ hành chính công tỉnh (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.11.H17", "Sở Xây dựng (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.12.H17", "Sở Tư pháp (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.13.H17", "Sở Nông nghiệp và Môi trường (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.01.13.H17", "Văn phòng Đăng ký đất đai tỉnh (dữ liệu mẫu)", "000.00.13.H17"),
    Unit("000.00.14.H17", "Sở Nội vụ (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.15.H17", "Sở Tài chính — Phòng Đăng ký kinh doanh (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.00.16.H17", "Công an tỉnh — Phòng Cảnh sát giao thông (dữ liệu mẫu)", PROVINCE.code),
    Unit("000.20.31.H17", "UBND xã Phú Lộc (dữ liệu mẫu)", PROVINCE.code),
]
