@echo off
rem OpenClaw gateway launcher, run by the "OpenClaw Gateway" scheduled task.
rem managed-by: openclaw-local-gateway
rem Rendered by "openclaw gateway install"; re-run the install instead of editing it.
set "OPENCLAW_HOME={{home}}"
set "OPENCLAW_PORT={{port}}"
set "OPENCLAW_SERVICE_MANAGER=schtasks"
if not exist "{{log_dir}}" mkdir "{{log_dir}}"
{{command}} gateway run >> "{{console_log}}" 2>&1
exit /b %ERRORLEVEL%
