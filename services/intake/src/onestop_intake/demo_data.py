"""Demo units that `make run` loads (dữ liệu mẫu); the procedures are in catalogue.yaml.

The unit codes follow the national format but are sample data, as are the names' "(dữ liệu mẫu)".
Two shapes side by side, because agencies run both:
- today's two tiers (since 1/7/2025): the province, its departments, a commune; the province's
  Public Administration Service Centre receives for every unit in the province (Decree 118/2025:
  regardless of administrative boundaries);
- an older three-tier setup: a district (cấp huyện) with a shared one-stop desk serving its five
  offices (seed 002: five departments, five counters, one team) and a commune below it.
And the tax authority (cơ quan thuế), which sets the financial obligation of land procedures:
routing's liên thông templates hand the case to it and back. It answers to the Ministry of
Finance, not to the province; the demo tree files it under the finance department so that the
province's centre receives for it like for every other demo unit.
"""

from .units.domain import Unit, UnitKind, UnitLevel

PC, DEPT, DESK = UnitKind.PEOPLES_COMMITTEE, UnitKind.DEPARTMENT, UnitKind.DESK
PROVINCE_LEVEL, DISTRICT_LEVEL, COMMUNE_LEVEL = UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE

PROVINCE = Unit("000.00.00.H17", "UBND tỉnh (dữ liệu mẫu)", "", PC, PROVINCE_LEVEL)
DISTRICT = Unit("000.00.40.H17", "UBND huyện Phú Vang (cấp huyện cũ, dữ liệu mẫu)", PROVINCE.code, PC, DISTRICT_LEVEL)
DISTRICT_OFFICES = [
    Unit("000.41.40.H17", "Phòng Tài nguyên và Môi trường huyện (dữ liệu mẫu)", DISTRICT.code, DEPT, DISTRICT_LEVEL),
    Unit("000.42.40.H17", "Phòng Tư pháp huyện (dữ liệu mẫu)", DISTRICT.code, DEPT, DISTRICT_LEVEL),
    Unit("000.43.40.H17", "Phòng Kinh tế và Hạ tầng huyện (dữ liệu mẫu)", DISTRICT.code, DEPT, DISTRICT_LEVEL),
    Unit("000.44.40.H17", "Phòng Lao động - Thương binh và Xã hội huyện (dữ liệu mẫu)", DISTRICT.code, DEPT,
         DISTRICT_LEVEL),
    Unit("000.45.40.H17", "Phòng Tài chính - Kế hoạch huyện (dữ liệu mẫu)", DISTRICT.code, DEPT, DISTRICT_LEVEL),
]
TAX_AUTHORITY = Unit("000.01.15.H17", "Thuế tỉnh (cơ quan thuế, dữ liệu mẫu)", "000.00.15.H17", DEPT, PROVINCE_LEVEL)
UNITS = [
    PROVINCE,
    Unit("000.00.21.H17", "Trung tâm Phục vụ hành chính công tỉnh (dữ liệu mẫu)", PROVINCE.code, DESK, PROVINCE_LEVEL,
         receives_for=(PROVINCE.code,), address="01 Lê Lai, phường Thuận Hóa (dữ liệu mẫu)"),
    Unit("000.00.11.H17", "Sở Xây dựng (dữ liệu mẫu)", PROVINCE.code, DEPT, PROVINCE_LEVEL),
    Unit("000.00.12.H17", "Sở Tư pháp (dữ liệu mẫu)", PROVINCE.code, DEPT, PROVINCE_LEVEL),
    Unit("000.00.13.H17", "Sở Nông nghiệp và Môi trường (dữ liệu mẫu)", PROVINCE.code, DEPT, PROVINCE_LEVEL),
    Unit("000.01.13.H17", "Văn phòng Đăng ký đất đai tỉnh (dữ liệu mẫu)", "000.00.13.H17", DEPT, PROVINCE_LEVEL),
    Unit("000.00.14.H17", "Sở Nội vụ (dữ liệu mẫu)", PROVINCE.code, DEPT, PROVINCE_LEVEL),
    Unit("000.00.15.H17", "Sở Tài chính — Phòng Đăng ký kinh doanh (dữ liệu mẫu)", PROVINCE.code, DEPT, PROVINCE_LEVEL),
    Unit("000.00.16.H17", "Công an tỉnh (dữ liệu mẫu)", PROVINCE.code, DEPT, PROVINCE_LEVEL),
    Unit("000.20.31.H17", "UBND xã Phú Lộc (dữ liệu mẫu)", PROVINCE.code, PC, COMMUNE_LEVEL),
    DISTRICT,
    *DISTRICT_OFFICES,
    Unit("000.40.21.H17", "Bộ phận Một cửa huyện Phú Vang (cấp huyện cũ, dữ liệu mẫu)", DISTRICT.code, DESK,
         DISTRICT_LEVEL, receives_for=tuple(u.code for u in DISTRICT_OFFICES)),
    Unit("000.40.31.H17", "UBND xã Phú Thuận, huyện Phú Vang (cấp huyện cũ, dữ liệu mẫu)", DISTRICT.code, PC,
         COMMUNE_LEVEL),
    TAX_AUTHORITY,
]
