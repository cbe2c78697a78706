//! Per-request cost of `VerifyClientLayer` over the bare service, side by
//! side in one run (DESIGN.md §5: the layer adds under 100 ns per request).
//!
//! Every variant gets the same request (a few ordinary headers and the
//! connection's `Arc<ClientAuthOutcome>` in its extensions), built outside
//! the timed section, and the same inner `service_fn` returning an empty
//! response; the futures are ready, so they are polled once with a no-op
//! waker instead of going through a runtime.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response, header};
use http_body_util::Full;
use mtls_status::{ClientAuthOutcome, ClientIdentity, ForwardHeaders};
use mtls_status_tower::{AllowList, ClientAuthMetrics, VerifyClientLayer};
use tower::{Layer, service_fn};
use tower_service::Service;

type Body = Full<Bytes>;

fn request(outcome: &Arc<ClientAuthOutcome>) -> Request<Body> {
    let mut request = Request::new(Body::default());
    let headers = request.headers_mut();
    headers.insert(
        header::HOST,
        "api.example.org".parse().expect("static header"),
    );
    headers.insert(
        header::USER_AGENT,
        "bench/1.0".parse().expect("static header"),
    );
    headers.insert(
        header::ACCEPT,
        "application/json".parse().expect("static header"),
    );
    request.extensions_mut().insert(Arc::clone(outcome));
    request
}

/// Calls `service` once and takes the ready response.
fn call_ready<S>(service: &mut S, request: Request<Body>) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("service not ready"),
    }
    let future = pin!(service.call(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        _ => panic!("response not ready"),
    }
}

fn bench_layer(c: &mut Criterion) {
    let pki = mtls_testpki::Pki::generate();
    let client = pki
        .intermediate
        .leaf("bench-client")
        .dns("client.example.org")
        .uri("spiffe://example.org/ns/bench/sa/client")
        .build();
    let identity = ClientIdentity::from_chain(client.chain()).expect("test certificate parses");
    let outcome = Arc::new(ClientAuthOutcome::Verified(identity));

    let bare = service_fn(|_request: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::default()))
    });
    let variants = [
        ("layer_on_verified", VerifyClientLayer::new()),
        (
            "layer_on_verified_metrics_allow_list",
            VerifyClientLayer::new()
                .metrics(ClientAuthMetrics::new())
                .authorize(AllowList::new().spiffe_trust_domain("example.org")),
        ),
        (
            "layer_on_verified_forward_nginx",
            VerifyClientLayer::new().forward(ForwardHeaders::nginx()),
        ),
    ];

    let mut group = c.benchmark_group("layer");
    group.bench_function("bare_service", |b| {
        let mut service = bare;
        b.iter(|| black_box(call_ready(&mut service, request(&outcome))));
    });
    for (name, layer) in variants {
        let mut service = layer.layer(bare);
        // Sanity: the layer passes this client through.
        assert_eq!(
            call_ready(&mut service, request(&outcome)).status(),
            200,
            "{name}"
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(call_ready(&mut service, request(&outcome))));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_layer);
criterion_main!(benches);
