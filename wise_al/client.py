"""Python client of the wise-al REST API (the CLI talks to the API through it)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from wise_al.errors import WiseAlError
from wise_al.spec import CampaignSpec, dump_spec

API_PREFIX = "/api/v1"


class ApiError(WiseAlError):
    """The API answered with an error, or could not be reached (``status_code`` 0)."""

    def __init__(self, message: str, status_code: int = 0, detail: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class WiseAlClient:
    """Talk to a wise-al API.

    Parameters
    ----------
    base_url
        Where the API listens, e.g. ``http://127.0.0.1:8000``.
    token
        Bearer token for mutating calls (``wise-al token create``).
    timeout_s
        Per-request timeout in seconds.
    transport
        Optional httpx transport (tests pass the app's ASGI transport).

    Examples
    --------
    >>> with WiseAlClient("http://127.0.0.1:8000", token) as client:  # doctest: +SKIP
    ...     campaign = client.create_campaign(load_spec(Path("examples/demo.yaml")))
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers=headers,
            timeout=timeout_s,
            transport=transport,
        )

    def __enter__(self) -> WiseAlClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(
                f"cannot reach the wise-al API at {self.base_url} ({reason}); "
                "is it running? (`wise-al serve`)"
            ) from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
            message, detail = body.get("message") or str(body.get("detail")), body.get("detail")
        except ValueError:
            message, detail = response.text[:200] or response.reason_phrase, None
        raise ApiError(f"HTTP {response.status_code}: {message}", response.status_code, detail)

    def health(self) -> dict[str, Any]:
        """The API's health report."""
        result: dict[str, Any] = self._request("GET", "/health")
        return result

    def create_campaign(self, spec: CampaignSpec | dict[str, Any]) -> dict[str, Any]:
        """Submit a spec; returns the new draft campaign."""
        body = dump_spec(spec) if isinstance(spec, CampaignSpec) else spec
        result: dict[str, Any] = self._request("POST", "/campaigns", json=body)
        return result

    def list_campaigns(
        self, *, limit: int = 50, offset: int = 0, status: str | None = None
    ) -> dict[str, Any]:
        """One page of campaigns: ``{"items", "total", "limit", "offset"}``."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        result: dict[str, Any] = self._request("GET", "/campaigns", params=params)
        return result

    def get_campaign(self, campaign_id: int) -> dict[str, Any]:
        """One campaign."""
        result: dict[str, Any] = self._request("GET", f"/campaigns/{campaign_id}")
        return result

    def get_campaign_spec(self, campaign_id: int) -> dict[str, Any]:
        """A campaign's stored spec, defaults filled in."""
        result: dict[str, Any] = self._request("GET", f"/campaigns/{campaign_id}/spec")
        return result

    def delete_campaign(self, campaign_id: int) -> None:
        """Delete a draft campaign."""
        self._request("DELETE", f"/campaigns/{campaign_id}")

    def control_campaign(self, campaign_id: int, action: str) -> dict[str, Any]:
        """``start``, ``pause``, ``resume`` or ``cancel`` a campaign; returns it."""
        result: dict[str, Any] = self._request("POST", f"/campaigns/{campaign_id}/{action}")
        return result

    def iterations(self, campaign_id: int) -> list[dict[str, Any]]:
        """A campaign's iterations with phase and metrics."""
        result: list[dict[str, Any]] = self._request("GET", f"/campaigns/{campaign_id}/iterations")
        return result

    def task_runs(self, campaign_id: int, status: str | None = None) -> dict[str, Any]:
        """The first 1000 units of work of a campaign (optionally of one status)."""
        params: dict[str, Any] = {"limit": 1000} | ({"status": status} if status else {})
        result: dict[str, Any] = self._request(
            "GET", f"/campaigns/{campaign_id}/task-runs", params=params
        )
        return result
