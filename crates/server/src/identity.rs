//! Who a `hello` (or a REST request's bearer token) speaks for: a guest token this server
//! signed (see [`crate::auth`]), or a JWT from the operator's own sign-in.
//!
//! A JWT is verified with keys pinned to their algorithm: HS256 only with
//! `jwt_hs256_secret`, RS*/PS*/ES*/EdDSA only with a public key of that type from the JWKS file
//! or URL. So `alg: none` is refused, and so is an HS256 token "signed" with a public key.
//! Its player becomes `u_` + the first 32 hex digits of SHA-256(`iss` "\n" `sub`): fixed
//! in shape, apart from guest ids (`p_…`), and apart per issuer.

use crate::auth::{Signer, TokenError, clean_name};
use crate::http_client;
use arbiter_protocol::{ErrorCode, PlayerId};
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Where JWTs from the operator's auth are verified, and how their claims name a player.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// Shared secret of HS256 tokens; unset: HS256 tokens are refused.
    pub hs256_secret: Option<String>,
    /// A JWKS file of public keys (read at start).
    pub jwks_file: Option<PathBuf>,
    /// A JWKS served over plain HTTP on loopback (`http://127.0.0.1:PORT/path`), fetched on
    /// first use and again when a token names a key it does not hold.
    pub jwks_url: Option<String>,
    /// The `iss` a token must carry; unset: any.
    pub issuer: Option<String>,
    /// The `aud` a token must carry; unset: `aud` is not checked.
    pub audience: Option<String>,
    /// The claim that identifies the player.
    pub player_claim: String,
    /// The claim with the player's display name.
    pub name_claim: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The JWKS URL is fetched again (for an unknown key) at most this often.
    pub jwks_refresh: Duration,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            jwks_file: None,
            jwks_url: None,
            issuer: None,
            audience: None,
            player_claim: "sub".to_owned(),
            name_claim: "name".to_owned(),
            leeway: Duration::from_secs(30),
            jwks_refresh: Duration::from_secs(30),
        }
    }
}

/// Without the secret: settings are logged.
impl fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSettings")
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwks_file", &self.jwks_file)
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("player_claim", &self.player_claim)
            .field("name_claim", &self.name_claim)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// A proven identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub(crate) id: PlayerId,
    /// The name a JWT gave; guest tokens carry none.
    pub(crate) name: Option<String>,
}

/// Why a token was refused: `code` and `reason` (sent as `details.reason`) for machines,
/// `message` for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

impl Refusal {
    fn bad(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::BadToken,
            reason,
            message: message.into(),
        }
    }
}

impl From<TokenError> for Refusal {
    fn from(e: TokenError) -> Self {
        Self::bad(e.reason(), e.to_string())
    }
}

/// Verifies every kind of token the server accepts.
pub(crate) struct Identity {
    signer: Signer,
    jwt: Option<Jwt>,
}

impl Identity {
    /// Reads the JWKS file, if one is configured: a bad one stops the start.
    pub(crate) fn new(signer: Signer, jwt: Option<&JwtSettings>) -> io::Result<Self> {
        let jwt = jwt.map(Jwt::new).transpose()?;
        Ok(Self { signer, jwt })
    }

    /// Signs the tokens `welcome` hands out.
    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Who `token` proves its bearer to be at `now_ms`. Guest tokens start `v1.`/`v2.`;
    /// anything else is taken for a JWT.
    pub(crate) async fn verify(&self, token: &str, now_ms: u64) -> Result<Verified, Refusal> {
        if token.starts_with("v1.") || token.starts_with("v2.") {
            let id = self.signer.verify(token, now_ms)?;
            return Ok(Verified { id, name: None });
        }
        match &self.jwt {
            Some(jwt) => jwt.verify(token, now_ms / 1000).await,
            None if token.split('.').count() == 3 => Err(Refusal::bad(
                "unsupported",
                "this server accepts only its own guest tokens, not JWTs",
            )),
            None => Err(TokenError::Malformed.into()),
        }
    }
}

/// A public key with the one algorithm it verifies.
struct PublicKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The keys last fetched from the JWKS URL.
#[derive(Default)]
struct Fetched {
    keys: Arc<Vec<PublicKey>>,
    /// When the last fetch was tried, whether or not it worked: failures are not retried
    /// sooner than successes, so a flood of tokens cannot hammer the key server.
    at: Option<Instant>,
    /// Why the last fetch failed, while it did (keys fetched before are kept meanwhile).
    error: Option<String>,
}

struct Jwt {
    settings: JwtSettings,
    hs256: Option<DecodingKey>,
    file_keys: Vec<PublicKey>,
    /// Held across a fetch, so concurrent `hello`s with a new key fetch once.
    fetched: Mutex<Fetched>,
}

impl Jwt {
    fn new(settings: &JwtSettings) -> io::Result<Self> {
        let hs256 = settings
            .hs256_secret
            .as_ref()
            .map(|s| DecodingKey::from_secret(s.as_bytes()))
            .transpose()
            .map_err(io::Error::other)?;
        let file_keys = match &settings.jwks_file {
            Some(path) => {
                let text = std::fs::read(path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
                })?;
                let keys = parse_jwks(&text).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?;
                if keys.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} holds no usable signing key", path.display()),
                    ));
                }
                keys
            }
            None => Vec::new(),
        };
        Ok(Self {
            settings: settings.clone(),
            hs256,
            file_keys,
            fetched: Mutex::default(),
        })
    }

    async fn verify(&self, token: &str, now_secs: u64) -> Result<Verified, Refusal> {
        let (alg, kid) = header(token)?;
        let claims = if alg == Algorithm::HS256 {
            let Some(key) = &self.hs256 else {
                return Err(Refusal::bad(
                    "algorithm",
                    "HS256 JWTs are not accepted here (no shared secret is configured)",
                ));
            };
            self.decode(token, alg, key)?
        } else if alg.family() == jsonwebtoken::AlgorithmFamily::Hmac {
            return Err(Refusal::bad(
                "algorithm",
                format!("{alg:?} JWTs are not accepted here; HS256 is the one HMAC algorithm"),
            ));
        } else {
            self.decode_public(token, alg, kid.as_deref()).await?
        };
        self.claimed(&claims, now_secs)
    }

    /// Verify with the public keys for `alg` (and `kid`, when the token names one).
    async fn decode_public(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Map<String, Value>, Refusal> {
        if self.file_keys.is_empty() && self.settings.jwks_url.is_none() {
            return Err(Refusal::bad(
                "algorithm",
                format!("{alg:?} JWTs are not accepted here (no public keys are configured)"),
            ));
        }
        let fits = |k: &&PublicKey| k.alg == alg && (kid.is_none() || k.kid.as_deref() == kid);
        let mut fetched = self.fetched_keys(None).await?;
        let known = self
            .file_keys
            .iter()
            .chain(fetched.iter())
            .any(|k| fits(&k));
        if !known && kid.is_some() && self.settings.jwks_url.is_some() {
            fetched = self.fetched_keys(Some(&fetched)).await?;
        }
        let candidates: Vec<&PublicKey> = self
            .file_keys
            .iter()
            .chain(fetched.iter())
            .filter(fits)
            .collect();
        if candidates.is_empty() {
            return Err(match kid {
                Some(kid) if self.has_kid(kid, &fetched) => Refusal::bad(
                    "algorithm",
                    format!("key {kid:?} does not verify {alg:?} JWTs"),
                ),
                Some(kid) => Refusal::bad("unknown_key", format!("no key {kid:?} is known")),
                None => Refusal::bad(
                    "algorithm",
                    format!("{alg:?} JWTs are not accepted here (no key of that type)"),
                ),
            });
        }
        let mut last = None;
        for key in candidates {
            match self.decode(token, alg, &key.key) {
                Err(e) if e.reason == "signature" => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Refusal::bad("signature", "the JWT's signature is not valid")))
    }

    fn has_kid(&self, kid: &str, fetched: &[PublicKey]) -> bool {
        self.file_keys
            .iter()
            .chain(fetched.iter())
            .any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys of the JWKS URL: fetched on first use, or again when `stale` is what the
    /// caller saw and the last fetch is older than the refresh interval.
    async fn fetched_keys(
        &self,
        stale: Option<&Arc<Vec<PublicKey>>>,
    ) -> Result<Arc<Vec<PublicKey>>, Refusal> {
        let Some(url) = &self.settings.jwks_url else {
            return Ok(Arc::default());
        };
        let mut fetched = self.fetched.lock().await;
        let due = match fetched.at {
            None => true,
            Some(at) => {
                // Wanted when there is nothing usable, or the caller found its key missing
                // from the very keys held now (not from an older fetch someone replaced).
                let wanted = fetched.keys.is_empty()
                    || stale.is_some_and(|seen| Arc::ptr_eq(seen, &fetched.keys));
                wanted && at.elapsed() >= self.settings.jwks_refresh
            }
        };
        if due {
            let result = fetch_jwks(url).await;
            fetched.at = Some(Instant::now());
            match result {
                Ok(keys) => {
                    fetched.keys = Arc::new(keys);
                    fetched.error = None;
                }
                Err(e) => fetched.error = Some(e.to_string()),
            }
        }
        match &fetched.error {
            Some(e) if fetched.keys.is_empty() => Err(Refusal {
                code: ErrorCode::Unavailable,
                reason: "jwks_unavailable",
                message: format!("the keys to verify this JWT cannot be fetched: {e}"),
            }),
            _ => Ok(fetched.keys.clone()),
        }
    }

    /// Check the signature, `iss` and `aud`; time is checked by [`Jwt::claimed`].
    fn decode(
        &self,
        token: &str,
        alg: Algorithm,
        key: &DecodingKey,
    ) -> Result<Map<String, Value>, Refusal> {
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.validate_aud = self.settings.audience.is_some();
        if let Some(aud) = &self.settings.audience {
            validation.set_audience(&[aud]);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        if let Some(iss) = &self.settings.issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.into_kind() {
                ErrorKind::InvalidSignature => {
                    Refusal::bad("signature", "the JWT's signature is not valid")
                }
                ErrorKind::InvalidAudience => Refusal::bad(
                    "audience",
                    "the JWT is not meant for this server (its aud does not match)",
                ),
                ErrorKind::InvalidIssuer => {
                    Refusal::bad("issuer", "the JWT's issuer (iss) is not accepted here")
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    Refusal::bad("claim", format!("the JWT has no {claim} claim"))
                }
                ErrorKind::InvalidClaimFormat(claim) => {
                    Refusal::bad("claim", format!("the JWT's {claim} claim is malformed"))
                }
                ErrorKind::InvalidAlgorithm => {
                    Refusal::bad("algorithm", format!("the key does not verify {alg:?}"))
                }
                other => Refusal::bad("malformed", format!("the JWT cannot be read: {other:?}")),
            })
    }

    /// The player of verified claims, if the token is within its time at `now_secs`.
    fn claimed(&self, claims: &Map<String, Value>, now_secs: u64) -> Result<Verified, Refusal> {
        let leeway = self.settings.leeway.as_secs();
        let Some(exp) = claims.get("exp").and_then(Value::as_u64) else {
            return Err(Refusal::bad("claim", "the JWT has no numeric exp claim"));
        };
        if now_secs > exp.saturating_add(leeway) {
            return Err(Refusal::bad("expired", "the JWT has expired"));
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64)
            && now_secs.saturating_add(leeway) < nbf
        {
            return Err(Refusal::bad(
                "not_yet_valid",
                "the JWT is not valid yet (nbf)",
            ));
        }
        let claim = &self.settings.player_claim;
        let subject = match claims.get(claim) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(Refusal::bad(
                    "claim",
                    format!("the JWT has no {claim} claim to name the player"),
                ));
            }
        };
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        let name = claims
            .get(&self.settings.name_claim)
            .and_then(Value::as_str)
            .and_then(|n| clean_name(n).ok());
        Ok(Verified {
            id: external_player_id(issuer, &subject),
            name,
        })
    }
}

/// `u_` + the first 32 hex digits of SHA-256(`issuer` "\n" `subject`).
pub(crate) fn external_player_id(issuer: &str, subject: &str) -> PlayerId {
    let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    PlayerId(format!("u_{hex}"))
}

/// The `alg` and `kid` of a JWT's header, read before any key is chosen so that an
/// algorithm this server does not accept (`none` among them) is named as such.
fn header(token: &str) -> Result<(Algorithm, Option<String>), Refusal> {
    let malformed = || Refusal::bad("malformed", "the token is neither a guest token nor a JWT");
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let head: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(malformed)?;
    let Some(alg) = head.get("alg").and_then(Value::as_str) else {
        return Err(malformed());
    };
    let alg: Algorithm = alg.parse().map_err(|_| {
        Refusal::bad(
            "algorithm",
            format!("JWTs with alg {alg:?} are not accepted here"),
        )
    })?;
    let kid = head.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}

/// The signing keys of a JWKS document, each pinned to one algorithm. Keys this server
/// cannot use (encryption keys, symmetric keys, other curves) are skipped.
fn parse_jwks(text: &[u8]) -> Result<Vec<PublicKey>, String> {
    let doc: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(keys) = doc.get("keys").and_then(Value::as_array) else {
        return Err("not a JWKS (no \"keys\" array)".to_owned());
    };
    let mut out = Vec::new();
    for key in keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(key.clone()) else {
            // Only its id: a malformed entry may still hold key material.
            tracing::warn!(kid = ?key.get("kid"), "skipping a JWK that does not parse");
            continue;
        };
        if let Some(key) = public_key(&jwk) {
            out.push(key);
        }
    }
    Ok(out)
}

/// A JWK's key and the algorithm its type allows (its `alg`, when it names one of them).
fn public_key(jwk: &Jwk) -> Option<PublicKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let named = jwk.common.key_algorithm.and_then(|a| match a {
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::RS384 => Some(Algorithm::RS384),
        KeyAlgorithm::RS512 => Some(Algorithm::RS512),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::PS384 => Some(Algorithm::PS384),
        KeyAlgorithm::PS512 => Some(Algorithm::PS512),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::ES384 => Some(Algorithm::ES384),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    });
    let alg = match (&jwk.algorithm, named) {
        (AlgorithmParameters::RSA(_), Some(alg))
            if alg.family() == jsonwebtoken::AlgorithmFamily::Rsa =>
        {
            alg
        }
        (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(p), None | Some(Algorithm::ES256))
            if p.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        (AlgorithmParameters::EllipticCurve(p), None | Some(Algorithm::ES384))
            if p.curve == EllipticCurve::P384 =>
        {
            Algorithm::ES384
        }
        (AlgorithmParameters::OctetKeyPair(p), None | Some(Algorithm::EdDSA))
            if p.curve == EllipticCurve::Ed25519 =>
        {
            Algorithm::EdDSA
        }
        // Symmetric keys never come from a key set: that is the algorithm-confusion door.
        _ => {
            tracing::warn!(kid = ?jwk.common.key_id, "skipping a JWK of a type or alg not accepted");
            return None;
        }
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(PublicKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// GET a JWKS from `url` (`http://host:port/path`).
async fn fetch_jwks(url: &str) -> io::Result<Vec<PublicKey>> {
    let (addr, path) = split_http_url(url).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{url} is not an http:// URL"),
        )
    })?;
    let (status, body) = http_client::call(addr, Method::GET, path, &[], Bytes::new()).await?;
    if status != StatusCode::OK {
        return Err(io::Error::other(format!("{url} answered {status}")));
    }
    parse_jwks(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `http://host:port/path` → (`host:port`, `/path`).
pub(crate) fn split_http_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (addr, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    (!addr.is_empty()).then_some((addr, path))
}

/// Whether `url` is a plain-HTTP URL on this machine's loopback: keys fetched without TLS
/// must not cross a network.
pub(crate) fn is_loopback_http(url: &str) -> bool {
    let Some((addr, _)) = split_http_url(url) else {
        return false;
    };
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn external_ids_are_apart_from_guest_ids_and_per_issuer() {
        let a = external_player_id("https://auth.example", "42");
        assert!(
            a.as_str().starts_with("u_") && a.as_str().len() == 34,
            "{a}"
        );
        assert_ne!(a, external_player_id("https://other.example", "42"));
        assert_eq!(a, external_player_id("https://auth.example", "42"));
    }

    #[test]
    fn only_loopback_http_urls_are_accepted_for_keys() {
        assert!(is_loopback_http("http://127.0.0.1:8080/jwks.json"));
        assert!(is_loopback_http("http://[::1]:80/.well-known/jwks.json"));
        assert!(is_loopback_http("http://localhost/jwks"));
        assert!(!is_loopback_http("https://127.0.0.1/jwks"));
        assert!(!is_loopback_http("http://auth.example.com/jwks"));
        assert!(!is_loopback_http("http://10.0.0.1:80/jwks"));
        assert_eq!(
            split_http_url("http://127.0.0.1:9/a/b"),
            Some(("127.0.0.1:9", "/a/b"))
        );
    }
}
