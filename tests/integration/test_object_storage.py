"""The chassis MinIO client against the real MinIO."""

from __future__ import annotations

import io
import uuid

from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.storage import minio_client


def test_minio_client_stores_and_reads_back_an_object(local_stack):
    client = minio_client(load_settings(ServiceSettings, service_name="documents"))
    bucket = f"itest-{uuid.uuid4().hex[:10]}"
    client.make_bucket(bucket)
    try:
        data = "Phiếu tiếp nhận hồ sơ".encode()
        client.put_object(bucket, "dossier/receipt.txt", io.BytesIO(data), len(data))
        response = client.get_object(bucket, "dossier/receipt.txt")
        try:
            assert response.read() == data
        finally:
            response.close()
            response.release_conn()
    finally:
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)
