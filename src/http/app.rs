//! The application as hyper and the tests call it. A read the page cache can answer is answered
//! before routing, with what the layer stack would add to it; everything else is routed through
//! every layer. A hit then costs a lookup and a header map, not a dozen layers' futures: about
//! a fifth of a cached page's CPU (`bench/RESULTS.md`). The test
//! `encoding::a_page_answered_before_routing_is_what_every_layer_would_send` keeps the two ways
//! giving the same answer.

use std::{
    convert::Infallible,
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    Router,
    body::{Bytes, HttpBody},
    extract::Request,
    http::{HeaderValue, Method, header},
    response::Response,
};
use futures_util::future::{Either, Ready, ready};
use tower::Service;

use super::{X_REQUEST_ID, edge, metrics, new_request_id, sane_request_id, with_security_headers};
use crate::state::AppState;

#[derive(Clone)]
pub struct App {
    router: Router,
    state: AppState,
}

impl App {
    pub(super) fn new(router: Router, state: AppState) -> Self {
        Self { router, state }
    }

    /// The page cache's answer, dressed as the layers would dress it: the security headers, the
    /// request id, the metrics sample and the log line.
    fn answer_from_memory<B>(&self, request: &Request<B>) -> Option<Response> {
        let started = Instant::now();
        let (response, route) = edge::page_cache::answer_before_routing(
            &self.state,
            request.method(),
            request.uri(),
            request.headers(),
        )?;
        let id = request
            .headers()
            .get(X_REQUEST_ID)
            .filter(|id| sane_request_id(id))
            .cloned()
            .or_else(new_request_id);
        let mut response = with_security_headers(response);
        let headers = response.headers_mut();
        if let Some(id) = &id {
            headers.insert(X_REQUEST_ID, id.clone());
        }
        // As the router gives it (hyper would write the same).
        if let Some(length) = response.body().size_hint().exact() {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        metrics::answered(
            &self.state,
            route.as_deref().unwrap_or("unmatched"),
            &Method::GET,
            response.status(),
            started,
            id.as_ref(),
        );
        Some(response)
    }
}

impl<B> Service<Request<B>> for App
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future =
        Either<Ready<Result<Response, Infallible>>, <Router as Service<Request<B>>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<B>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.answer_from_memory(&request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.router.call(request)),
        }
    }
}
