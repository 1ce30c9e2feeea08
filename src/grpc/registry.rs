use tonic::{Request, Response, Status};

use super::{
    Ready,
    encode::registry as encode,
    parse::{self, OrganisationPage},
    wire,
};
use crate::{
    proto,
    server::auth::{AuthError, Scope},
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
        let (app, caller, input) = self.ready.begin(request, parse::registry::apply_manifest)?;
        // The organisation is named inside the manifest: checked once it is parsed, before
        // anything is compared or stored.
        let outcome = app
            .apply(&input, |organisation| {
                caller.require(Scope::Registry, organisation)
            })
            .await?;
        Ok(Response::new(encode::apply_response(&outcome)))
    }

    async fn get_organisation(
        &self,
        request: Request<proto::GetOrganisationRequest>,
    ) -> Result<Response<proto::GetOrganisationResponse>, Status> {
        let (app, caller, at) = self
            .ready
            .begin(request, parse::registry::get_organisation)?;
        caller.require(Scope::Registry, &at.organisation)?;
        let policy = app.policy(&at.organisation, at.revision)?;
        Ok(Response::new(proto::GetOrganisationResponse {
            organisation: Some(encode::organisation(
                &policy.registry().organisation,
                policy.info(),
            )),
        }))
    }

    async fn list_organisations(
        &self,
        request: Request<proto::ListOrganisationsRequest>,
    ) -> Result<Response<proto::ListOrganisationsResponse>, Status> {
        let (app, caller, page) = self
            .ready
            .begin(request, parse::registry::list_organisations)?;
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
                .map(|policy| encode::organisation(&policy.registry().organisation, policy.info()))
                .collect(),
            next_page_token,
        }))
    }

    async fn list_purposes(
        &self,
        request: Request<proto::ListPurposesRequest>,
    ) -> Result<Response<proto::ListPurposesResponse>, Status> {
        let (app, caller, OrganisationPage { at, page }) =
            self.ready.begin(request, parse::registry::list_purposes)?;
        caller.require(Scope::Registry, &at.organisation)?;
        let policy = app.policy(&at.organisation, at.revision)?;
        let (purposes, next_page_token) = page.take(policy.registry().purposes.iter(), |purpose| {
            purpose.id.as_str()
        });
        Ok(Response::new(proto::ListPurposesResponse {
            purposes: purposes
                .into_iter()
                .map(|purpose| encode::purpose(purpose, at.language))
                .collect(),
            revision: policy.revision(),
            next_page_token,
        }))
    }

    async fn list_registered_recipients(
        &self,
        request: Request<proto::ListRegisteredRecipientsRequest>,
    ) -> Result<Response<proto::ListRegisteredRecipientsResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::registry::list_registered_recipients)?;
        let (OrganisationPage { at, page }, kind) = (input.of, input.kind);
        caller.require(Scope::Registry, &at.organisation)?;
        let policy = app.policy(&at.organisation, at.revision)?;
        let matching = policy
            .registry()
            .recipients
            .iter()
            .filter(|recipient| kind.is_none_or(|kind| recipient.kind == kind));
        let (recipients, next_page_token) = page.take(matching, |recipient| recipient.id.as_str());
        Ok(Response::new(proto::ListRegisteredRecipientsResponse {
            recipients: recipients
                .into_iter()
                .map(|recipient| encode::recipient(recipient, at.language))
                .collect(),
            revision: policy.revision(),
            next_page_token,
        }))
    }

    async fn list_categories(
        &self,
        request: Request<proto::ListCategoriesRequest>,
    ) -> Result<Response<proto::ListCategoriesResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::registry::list_categories)?;
        let (OrganisationPage { at, page }, sensitivity) = (input.of, input.sensitivity);
        caller.require(Scope::Registry, &at.organisation)?;
        let policy = app.policy(&at.organisation, at.revision)?;
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
                    let own = policy
                        .registry()
                        .categories
                        .iter()
                        .find(|own| *own.key == *node.key);
                    encode::category(node, parent, own, at.language)
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
        let (app, caller, OrganisationPage { at, page }) =
            self.ready.begin(request, parse::registry::list_revisions)?;
        caller.require(Scope::Registry, &at.organisation)?;
        let revisions = app.revisions(&at.organisation)?;
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
                .map(|(_, info)| encode::revision(&at.organisation, info))
                .collect(),
            next_page_token,
        }))
    }

    async fn get_revision(
        &self,
        request: Request<proto::GetRevisionRequest>,
    ) -> Result<Response<proto::GetRevisionResponse>, Status> {
        let (app, caller, at) = self.ready.begin(request, parse::registry::get_revision)?;
        caller.require(Scope::Registry, &at.organisation)?;
        let record = app.revision_record(&at.organisation, at.revision).await?;
        let registry_json = app.registry_json(&at.organisation, record.number)?;
        Ok(Response::new(proto::GetRevisionResponse {
            revision: Some(proto::Revision {
                organisation: at.organisation.into_string(),
                number: record.number,
                applied_at: Some(wire::timestamp(record.applied_at)),
                manifest_sha256: record.manifest_sha256,
                effective_from: Some(wire::timestamp(record.effective_from)),
            }),
            manifest: record.manifest,
            registry_json,
        }))
    }
}
