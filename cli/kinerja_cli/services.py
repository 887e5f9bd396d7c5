"""The platform's services: name -> the module with `build_service`, `load_config` and
`DATABASE` (one list for `kinerja run` and every command that works on a service's database)."""

SERVICE_MODULES: dict[str, str] = {
    "attendance": "kinerja_attendance.bootstrap",
    "worklog": "kinerja_worklog.bootstrap",
    "appraisal": "kinerja_appraisal.bootstrap",
    "mkd": "kinerja_mkd.bootstrap",
    "payroll": "kinerja_payroll.bootstrap",
}
