"""What an operator watches besides metrics and the call log: aigw's log lines (text or JSON), the
access log, W3C trace context, and OpenTelemetry traces (opt-in; `otel.py` is imported only when
tracing is on)."""
