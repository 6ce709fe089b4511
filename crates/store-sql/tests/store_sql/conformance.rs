//! auth-core's store conformance suite and auth-session's session-level suite, on every
//! backend, each test on tables of its own.

macro_rules! backend_suites {
    ($backend:ident, $stores:path) => {
        mod $backend {
            use auth_core::{
                RefreshTokenStore, RevocationStore, SessionStore, SharedClock, ThrottleStore,
            };

            async fn sessions(clock: SharedClock) -> impl SessionStore {
                $stores(clock).await.sessions()
            }

            async fn revocations(clock: SharedClock) -> impl RevocationStore {
                $stores(clock).await.revocations()
            }

            async fn refresh_tokens(clock: SharedClock) -> impl RefreshTokenStore {
                $stores(clock).await.refresh_tokens()
            }

            async fn throttle(clock: SharedClock) -> impl ThrottleStore {
                $stores(clock).await.throttle()
            }

            mod session_store {
                auth_core::session_store_conformance!(super::sessions);
            }

            mod revocation_store {
                auth_core::revocation_store_conformance!(super::revocations);
            }

            mod refresh_store {
                auth_core::refresh_store_conformance!(super::refresh_tokens);
            }

            mod throttle_store {
                auth_core::throttle_store_conformance!(super::throttle);
            }

            mod session_manager {
                auth_session::session_manager_conformance!(super::sessions);
            }
        }
    };
}

backend_suites!(postgres, crate::common::postgres);
backend_suites!(mysql, crate::common::mysql);
backend_suites!(sqlite_memory, crate::common::sqlite_memory);
backend_suites!(sqlite_file, crate::common::sqlite_file);
