#!/usr/bin/env bash
# Prints where everything listens after `make run`.
cat <<TXT

onestop is running (logs in .local/logs, stop with 'make stop')
  service     gRPC              api metrics                     worker metrics
$(python3 "$(dirname "$0")/../../libs/chassis/src/onestop_chassis/services.py" table |
  while read -r name grpc api worker _; do
    printf '  %-11s 127.0.0.1:%-7s http://127.0.0.1:%s/metrics   http://127.0.0.1:%s/metrics\n' "$name" "$grpc" "$api" "$worker"
  done)
  rabbitmq    amqp://127.0.0.1:5672
  ferretdb    mongodb://127.0.0.1:27017
  minio       http://127.0.0.1:9000
  lookup page http://127.0.0.1:8051/tra-cuu   (tra cứu hồ sơ, in Vietnamese)
  catalogue   http://127.0.0.1:8051/thu-tuc   (danh mục thủ tục hành chính, in Vietnamese)
  REST        http://127.0.0.1:8080/v1/...    (the REST gateway; its routes: http://127.0.0.1:8080/openapi.json)

Try it (a demo desk-officer token for unit 000.00.21.H17):
  TOKEN=\$(.venv/bin/onestop-token)
  $HOME/.cache/onestop/bin/grpcurl -plaintext 127.0.0.1:50051 list
  $HOME/.cache/onestop/bin/grpcurl -plaintext -H "authorization: Bearer \$TOKEN" -d '{"procedure_code":"2.001610","channel":"CHANNEL_IN_PERSON","applicant":{"kind":"APPLICANT_KIND_PERSON","full_name":"Nguyễn Văn An","identity_document":{"type":"IDENTITY_DOCUMENT_TYPE_PERSONAL_ID_NUMBER","number":"001203004567"},"phone":"0912345678"},"documents":[{"name":"Giấy đề nghị đăng ký doanh nghiệp"},{"name":"Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"}]}' 127.0.0.1:50051 onestop.intake.v1.IntakeService/SubmitDossier
  $HOME/.cache/onestop/bin/grpcurl -plaintext -H "authorization: Bearer \$TOKEN" -d '{"dossier_code":"<code from above>"}' 127.0.0.1:50052 onestop.routing.v1.RoutingService/GetCase
TXT
