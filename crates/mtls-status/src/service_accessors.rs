//! The tower-standard accessors of a middleware service, declared once (as
//! tower-http's `define_inner_service_accessors!`).

/// Defines `get_ref`, `get_mut` and `into_inner` for a service wrapper
/// whose inner service `S` is the field `inner`. Used inside an
/// `impl<S> Wrapper<S>` block by the tower and tonic integrations.
#[doc(hidden)]
#[macro_export]
macro_rules! define_inner_service_accessors {
    () => {
        /// The inner service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The inner service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes `self`, returning the inner service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
