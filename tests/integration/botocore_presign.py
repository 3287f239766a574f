#!/usr/bin/python3
"""Presigned GET URL from botocore at a fixed time, to compare with m3's signer.
usage: botocore_presign.py s3://bucket/key EPOCH EXPIRES  (endpoint, region, keys from env)"""
import datetime
import os
import sys

import botocore.auth
import botocore.session
from botocore.config import Config

url, epoch, expires = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bucket, _, key = url[5:].partition("/")
fixed = datetime.datetime.utcfromtimestamp(epoch)


class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return fixed


botocore.auth.datetime.datetime = FixedDatetime
if hasattr(botocore.auth, "get_current_datetime"):  # newer botocore
    botocore.auth.get_current_datetime = lambda *a, **k: fixed
style = "path" if os.environ.get("AWS_S3_ADDRESSING_STYLE", "path") == "path" else "virtual"
client = botocore.session.get_session().create_client(
    "s3",
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    config=Config(signature_version="s3v4", s3={"addressing_style": style}),
)
print(client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                    ExpiresIn=expires))
