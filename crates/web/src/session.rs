//! Who is signed in, as signals the pages react to. The access token itself lives in
//! [`crate::api`], in memory only.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, Profile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthState {
    /// The page has just loaded and the refresh cookie is being tried.
    Restoring,
    SignedOut,
    SignedIn,
}

/// Provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub state: RwSignal<AuthState>,
    /// The signed-in user's profile, once loaded.
    pub profile: RwSignal<Option<Profile>>,
}

impl Session {
    /// Creates the session and restores it from the HttpOnly refresh cookie, if there is one.
    pub fn start() -> Self {
        let session = Self {
            state: RwSignal::new(AuthState::Restoring),
            profile: RwSignal::new(None),
        };
        api::on_signed_out(move || session.clear());
        spawn_local(async move {
            match api::refresh().await {
                Ok(()) => session.signed_in(),
                Err(_) => session.state.set(AuthState::SignedOut),
            }
        });
        session
    }

    pub fn get() -> Self {
        expect_context()
    }

    pub fn is_signed_in(&self) -> bool {
        self.state.get() == AuthState::SignedIn
    }

    /// A token is in hand (after login or refresh): load the profile.
    pub fn signed_in(self) {
        self.state.set(AuthState::SignedIn);
        self.reload_profile();
    }

    pub fn reload_profile(self) {
        spawn_local(async move {
            if let Ok(profile) = api::me().await {
                self.profile.set(Some(profile));
            }
        });
    }

    /// The session is over (logout, expired, or ended on the server).
    pub fn clear(self) {
        api::forget_session();
        self.profile.set(None);
        self.state.set(AuthState::SignedOut);
    }
}
