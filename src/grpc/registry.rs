use tonic::{Request, Response, Status};

use super::{
    Ready, authenticated,
    convert::{self, Violations},
};
use crate::{
    auth::{AuthError, Scope},
    proto,
};

pub struct RegistryApi {
    ready: Ready,
}

impl RegistryApi {
    pub fn new(ready: Ready) -> RegistryApi {
        RegistryApi { ready }
    }
}

#[tonic::async_trait]
impl proto::registry_service_server::RegistryService for RegistryApi {
    async fn apply_manifest(
        &self,
        request: Request<proto::ApplyManifestRequest>,
    ) -> Result<Response<proto::ApplyManifestResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        // The organisation is named inside the manifest: checked once it is parsed, before
        // anything is compared or stored.
        let outcome = app
            .apply(
                &request.manifest,
                request.dry_run,
                request.expected_revision,
                |organisation| caller.require(Scope::Registry, organisation),
            )
            .await?;
        Ok(Response::new(convert::apply_response(&outcome)))
    }

    async fn get_organisation(
        &self,
        request: Request<proto::GetOrganisationRequest>,
    ) -> Result<Response<proto::GetOrganisationResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.into_result(())?;
        caller.require(Scope::Registry, &request.organisation)?;
        let policy = app.policy(&request.organisation, request.revision)?;
        Ok(Response::new(proto::GetOrganisationResponse {
            organisation: Some(convert::organisation(
                &policy.registry().organisation,
                policy.info(),
            )),
        }))
    }

    async fn list_organisations(
        &self,
        request: Request<proto::ListOrganisationsRequest>,
    ) -> Result<Response<proto::ListOrganisationsResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        let page = violations.page(request.page_size, &request.page_token);
        violations.into_result(())?;
        if !caller.has_scope(Scope::Registry) {
            return Err(AuthError::MissingScope(Scope::Registry).into());
        }
        let policies = app.organisations();
        // Only the caller's own organisations: the others' ids are not theirs to learn.
        let visible = policies
            .iter()
            .filter(|policy| caller.may_act_for(&policy.registry().organisation.id));
        let (policies, next_page_token) =
            page.take(visible, |policy| policy.registry().organisation.id.as_str());
        Ok(Response::new(proto::ListOrganisationsResponse {
            organisations: policies
                .into_iter()
                .map(|policy| convert::organisation(&policy.registry().organisation, policy.info()))
                .collect(),
            next_page_token,
        }))
    }

    async fn list_purposes(
        &self,
        request: Request<proto::ListPurposesRequest>,
    ) -> Result<Response<proto::ListPurposesResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        let page = violations.page(request.page_size, &request.page_token);
        violations.into_result(())?;
        caller.require(Scope::Registry, &request.organisation)?;
        let policy = app.policy(&request.organisation, request.revision)?;
        let (purposes, next_page_token) = page.take(policy.registry().purposes.iter(), |purpose| {
            purpose.id.as_str()
        });
        Ok(Response::new(proto::ListPurposesResponse {
            purposes: purposes.into_iter().map(convert::purpose).collect(),
            revision: policy.revision(),
            next_page_token,
        }))
    }

    async fn list_registered_recipients(
        &self,
        request: Request<proto::ListRegisteredRecipientsRequest>,
    ) -> Result<Response<proto::ListRegisteredRecipientsResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        let page = violations.page(request.page_size, &request.page_token);
        let kind = violations
            .enumeration::<proto::RecipientKind>("kind", request.kind)
            .and_then(convert::kind_filter);
        violations.into_result(())?;
        caller.require(Scope::Registry, &request.organisation)?;
        let policy = app.policy(&request.organisation, request.revision)?;
        let matching = policy
            .registry()
            .recipients
            .iter()
            .filter(|recipient| kind.is_none_or(|kind| recipient.kind == kind));
        let (recipients, next_page_token) = page.take(matching, |recipient| recipient.id.as_str());
        Ok(Response::new(proto::ListRegisteredRecipientsResponse {
            recipients: recipients.into_iter().map(convert::recipient).collect(),
            revision: policy.revision(),
            next_page_token,
        }))
    }

    async fn list_categories(
        &self,
        request: Request<proto::ListCategoriesRequest>,
    ) -> Result<Response<proto::ListCategoriesResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        let page = violations.page(request.page_size, &request.page_token);
        let sensitivity = violations
            .enumeration::<proto::Sensitivity>("sensitivity", request.sensitivity)
            .and_then(convert::sensitivity_filter);
        violations.into_result(())?;
        caller.require(Scope::Registry, &request.organisation)?;
        let policy = app.policy(&request.organisation, request.revision)?;
        let mut nodes: Vec<_> = policy
            .categories()
            .iter()
            .filter(|node| sensitivity.is_none_or(|sensitivity| node.sensitivity == sensitivity))
            .collect();
        nodes.sort_by(|a, b| a.key.cmp(&b.key));
        let (nodes, next_page_token) = page.take(nodes, |node| &node.key);
        Ok(Response::new(proto::ListCategoriesResponse {
            categories: nodes
                .into_iter()
                .map(|node| {
                    let parent = node
                        .parent
                        .map(|parent| &policy.categories()[parent as usize]);
                    convert::category(node, parent)
                })
                .collect(),
            revision: policy.revision(),
            next_page_token,
        }))
    }

    async fn list_revisions(
        &self,
        request: Request<proto::ListRevisionsRequest>,
    ) -> Result<Response<proto::ListRevisionsResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        let page = violations.page(request.page_size, &request.page_token);
        violations.into_result(())?;
        caller.require(Scope::Registry, &request.organisation)?;
        let revisions = app.revisions(&request.organisation)?;
        // Newest first: the page key is the revision number, zero-padded so that text order
        // is the reverse of numeric order.
        let keyed: Vec<(String, _)> = revisions
            .iter()
            .map(|info| (format!("{:020}", u64::MAX - info.number), info))
            .collect();
        let (page_items, next_page_token) = page.take(keyed.iter(), |(key, _)| key.as_str());
        Ok(Response::new(proto::ListRevisionsResponse {
            revisions: page_items
                .into_iter()
                .map(|(_, info)| convert::revision(&request.organisation, info))
                .collect(),
            next_page_token,
        }))
    }

    async fn get_revision(
        &self,
        request: Request<proto::GetRevisionRequest>,
    ) -> Result<Response<proto::GetRevisionResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.into_result(())?;
        caller.require(Scope::Registry, &request.organisation)?;
        let record = app
            .revision_record(&request.organisation, request.revision)
            .await?;
        Ok(Response::new(proto::GetRevisionResponse {
            revision: Some(proto::Revision {
                organisation: request.organisation,
                number: record.number,
                applied_at: Some(convert::timestamp(record.applied_at)),
                manifest_sha256: record.manifest_sha256,
            }),
            manifest: record.manifest,
        }))
    }
}
