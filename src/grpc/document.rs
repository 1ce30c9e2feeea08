use tonic::{Request, Response, Status};

use super::{Ready, parse, wire};
use crate::{proto, server::auth::Scope};

pub struct DocumentApi {
    ready: Ready,
}

impl DocumentApi {
    pub fn new(ready: Ready) -> DocumentApi {
        DocumentApi { ready }
    }
}

#[tonic::async_trait]
impl proto::document_service_server::DocumentService for DocumentApi {
    async fn render_document(
        &self,
        request: Request<proto::RenderDocumentRequest>,
    ) -> Result<Response<proto::RenderDocumentResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::document::render_document)?;
        caller.require(Scope::Registry, &input.organisation)?;
        let rendered = app.render_document(&input).await?;
        Ok(Response::new(proto::RenderDocumentResponse {
            content: rendered.content,
            media_type: input.format.media_type().to_owned(),
            revision: rendered.revision,
            title: rendered.title,
        }))
    }

    async fn review_registry(
        &self,
        request: Request<proto::ReviewRegistryRequest>,
    ) -> Result<Response<proto::ReviewRegistryResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::document::review_registry)?;
        caller.require(Scope::Registry, &input.organisation)?;
        let (revision, findings) = app.review_registry(&input).await?;
        Ok(Response::new(proto::ReviewRegistryResponse {
            findings: findings
                .into_iter()
                .map(|finding| proto::Finding {
                    severity: wire::finding_severity(finding.severity).into(),
                    code: finding.code.to_owned(),
                    article: finding.article.to_owned(),
                    subject: finding.subject,
                    message: finding.message,
                    source: finding.source,
                })
                .collect(),
            revision,
        }))
    }
}
