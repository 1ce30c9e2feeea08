//! The benchmark-only no-op: Check's request in, an answer of Check's size and shape out,
//! nothing decided. Served only with `serve --bench-noop`.

use tonic::{Request, Response, Status};

use crate::proto;

pub struct NoopApi {
    answer: proto::CheckResponse,
}

impl NoopApi {
    pub fn new() -> NoopApi {
        NoopApi {
            answer: representative_answer(),
        }
    }
}

impl Default for NoopApi {
    fn default() -> NoopApi {
        NoopApi::new()
    }
}

#[tonic::async_trait]
impl proto::benchmark_service_server::BenchmarkService for NoopApi {
    async fn noop(
        &self,
        request: Request<proto::CheckRequest>,
    ) -> Result<Response<proto::CheckResponse>, Status> {
        // The request is decoded like Check's and then dropped; the answer is encoded like
        // Check's. What is left out is exactly what Check adds: validation, pseudonymising
        // the subject, the index lookup and building the answer.
        drop(request.into_inner());
        Ok(Response::new(self.answer.clone()))
    }
}

/// Shaped like the demo's answer to Peero's notifications sharing a device identifier with
/// OneSignal (three reasons with sources, one transfer); a test keeps the two the same size.
fn representative_answer() -> proto::CheckResponse {
    let reason =
        |code: proto::ReasonCode, article: &str, message: &str, source: &str| proto::Reason {
            code: code.into(),
            article: article.to_owned(),
            message: message.to_owned(),
            source: source.to_owned(),
            effect: proto::ReasonEffect::Allow.into(),
        };
    proto::CheckResponse {
        decision: proto::Decision::Allow.into(),
        reasons: vec![
            reason(
                proto::ReasonCode::LegalBasis,
                "Art. 28(3)(a)",
                "purpose \"notifications\" rests on the controller's documented instructions",
                "000: Peero acts as its clients' processor; the controllers' bases are not stated",
            ),
            reason(
                proto::ReasonCode::ProcessingAgreement,
                "Art. 28(3)",
                "processor \"onesignal\" is bound by processing agreement \"Art. 28(4) \
                 subprocessor contract, attested by Peero's subprocessor list (April 2025)\"",
                "000 row 4 (Onesignal): listed as Peero data subprocessor; contract and dates \
                 not stated",
            ),
            reason(
                proto::ReasonCode::TransferScc,
                "Art. 46(2)(c)",
                "\"onesignal\" processes data in US, covered by standard contractual clauses \
                 (Decision (EU) 2021/914), module 3",
                "ASSUMPTION, not stated in 000 row 4: SCC 2021/914 module 3 (processor to \
                 processor) for the US transfer to OneSignal; the list names no safeguard",
            ),
        ],
        obligations: Vec::new(),
        revision: 1,
        transfers: vec![proto::Transfer {
            recipient: "onesignal".to_owned(),
            country: "US".to_owned(),
            mechanism: proto::TransferMechanism::Scc.into(),
            detail: "standard contractual clauses (Decision (EU) 2021/914), module 3".to_owned(),
        }],
        // As many bytes as a real answer's four times.
        revision_applied_at: Some(moment()),
        revision_effective_from: Some(moment()),
        at: Some(moment()),
        known_at: Some(moment()),
    }
}

fn moment() -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: 1_764_806_400,
        nanos: 123_456_000,
    }
}
