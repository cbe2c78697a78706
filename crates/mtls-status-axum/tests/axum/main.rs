//! axum over REAL TLS on 127.0.0.1: `ClientAuthListener` + the make-service
//! glue + `VerifyClientLayer` per route + the extractors, called by rustls
//! clients (ring provider) speaking HTTP/1.1 and HTTP/2 through hyper, by raw
//! sockets, and by curl.

mod curl;
mod extractors;
mod forward_formats;
mod header_timeout;
mod headers;
mod hyper_glue;
mod idle;
mod per_route;
mod spiffe;
mod support;
mod tolerance;
mod vendor_names;
mod wire;
mod xfcc;
