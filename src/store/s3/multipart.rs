//! The three multipart calls, for the streamed writer and partial (resumable) uploads alike.
//! Every part carries its SHA-256 (`x-amz-checksum-sha256`): the store refuses bytes damaged on
//! the way.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};

use super::{Target, error, writer::sha256_b64};
use crate::store::StoreError;

impl Target {
    /// Starts a multipart upload to `key` (full key); returns its id.
    pub(super) async fn create_multipart(&self, key: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| error::map("CreateMultipartUpload", key, e))?;
        match out.upload_id() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(StoreError::Backend(
                "S3 CreateMultipartUpload returned no upload id".into(),
            )),
        }
    }

    /// Sends `body` as part `n` of upload `up` to `key`.
    pub(super) async fn upload_part(
        &self,
        key: &str,
        up: &str,
        n: i32,
        body: Vec<u8>,
    ) -> Result<CompletedPart, StoreError> {
        let sum = sha256_b64(&body);
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(up)
            .part_number(n)
            .checksum_sha256(&sum)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| error::map("UploadPart", key, e))?;
        Ok(CompletedPart::builder()
            .part_number(n)
            .set_e_tag(out.e_tag().map(str::to_owned))
            .checksum_sha256(sum)
            .build())
    }

    pub(super) async fn complete_multipart(
        &self,
        key: &str,
        up: &str,
        parts: Vec<CompletedPart>,
    ) -> Result<(), StoreError> {
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(up)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| error::map("CompleteMultipartUpload", key, e))?;
        Ok(())
    }
}
