"""Typed settings, read once from the environment at start-up."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The internal service secret signs HS256 tokens: RFC 7518 asks for a key of at least the
#: hash's size, 256 bits.
MIN_SERVICE_SECRET_BYTES = 32


def check_service_secret(secret: str, name: str = "service secret") -> str:
    """``secret`` if it is long enough to sign HS256 tokens, else ``ValueError``."""
    size = len(secret.encode())
    if size < MIN_SERVICE_SECRET_BYTES:
        raise ValueError(
            f"the {name} must be at least {MIN_SERVICE_SECRET_BYTES} bytes (it has "
            f"{size}); generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Settings shared by the three parts. Every variable is prefixed with ``LOYALTY_``."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: SecretStr | None = None  # the runtime role's (loyalty's, and identity's too
    # unless identity_database_url is set); when unset, the embedded PostgreSQL
    identity_database_url: SecretStr | None = None
    migration_database_url: SecretStr | None = None  # the owner or an admin; migrations, set-up
    database_role_prefix: str = Field(default="", pattern=r"^[a-z_][a-z0-9_]{0,30}$|^$")
    data_dir: Path = Path(".pgdata")
    service_secret: SecretStr | None = None
    # seals identity's signing keys at rest (HKDF, then AES-256-GCM); default: the service secret
    key_encryption_secret: SecretStr | None = None
    db_pool_size: int = Field(default=10, ge=1, le=200)

    # identity
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=300)
    token_issuer: str = "loyalty-identity"
    token_audience: str = "loyalty-gateway"
    loyalty_url: str | None = None  # where identity's outbox relay delivers events
    relay_interval_seconds: float = Field(default=1.0, gt=0)

    # loyalty
    points_job_interval_seconds: float = Field(default=60.0, gt=0)
    referral_link_base: str = "https://loyalty.example.org/join"  # members' share links
    referrals_job_interval_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_first_retry_seconds: float = Field(default=30.0, gt=0)
    webhook_max_retry_seconds: float = Field(default=4 * 3600.0, gt=0)
    webhook_give_up_after_seconds: float = Field(default=24 * 3600.0, gt=0)
    webhook_max_attempts: int = Field(default=20, ge=1, le=1000)

    # gateway
    identity_url: str | None = None
    graphiql: bool | None = None  # default: on in development only
    introspection: bool | None = None  # default: on in development only
    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_query_cost: int = 2000  # fields asked, times the pages (first) around them
    # what each caller (account, partner key, or address) may spend per window, in the units
    # of max_query_cost; 0: no budgets
    rate_limit_cost_per_window: int = Field(default=20_000, ge=0)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=24 * 3600)
    rate_limit_storage: str = "async+memory://"  # a URI of the limits package's storages
    # proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed
    trusted_proxies: str = ""
    guest_referrals_interval_seconds: float = Field(default=30.0, ge=0)  # 0: not run here
    # how long identity holds a gateway's poll for revocations when there is none
    revocation_poll_seconds: float = Field(default=10.0, gt=0, le=30)
    # a gateway that could not follow them this long refuses tokens (fails closed)
    revocation_max_staleness_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"

    @field_validator("service_secret", "key_encryption_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            check_service_secret(value.get_secret_value(), str(info.field_name).replace("_", " "))
        return value

    @model_validator(mode="after")
    def _staleness_above_two_polls(self) -> Settings:
        # a gateway hears nothing for up to two held polls when nothing is revoked
        if self.revocation_max_staleness_seconds <= 2 * self.revocation_poll_seconds:
            raise ValueError(
                "revocation_max_staleness_seconds must be more than twice revocation_poll_seconds"
            )
        return self

    @model_validator(mode="after")
    def _budget_fits_the_costliest_operation(self) -> Settings:
        if 0 < self.rate_limit_cost_per_window < self.max_query_cost:
            raise ValueError(
                "rate_limit_cost_per_window must be 0 (no budgets) or at least max_query_cost, "
                "else an operation within the cost limit could never run"
            )
        return self

    def key_encryption_secret_value(self) -> str | None:
        """The secret that identity's signing keys and loyalty's door keys are sealed with,
        when one is configured."""
        chosen = self.key_encryption_secret or self.service_secret
        return None if chosen is None else chosen.get_secret_value()

    def key_encryption_secret_or(self, service_secret: str) -> str:
        """The configured key-encryption secret, else ``service_secret`` (the one a service was
        started with)."""
        configured = self.key_encryption_secret
        return service_secret if configured is None else configured.get_secret_value()

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def graphiql_enabled(self) -> bool:
        return self.is_development if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.is_development if self.introspection is None else self.introspection


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
