"""Python client of the wise-al REST API (the CLI talks to the API through it)."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from wise_al.campaign_spec import CampaignSpec, dump_spec
from wise_al.errors import WiseAlError

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

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response of a successful request; any failure as one readable ApiError."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(
                f"cannot reach the wise-al API at {self.base_url} ({reason}); "
                "is it running? (`wise-al serve`)"
            ) from None
        if response.is_success:
            return response
        try:
            body = response.json()
            message, detail = body.get("message") or str(body.get("detail")), body.get("detail")
        except ValueError:
            message, detail = response.text[:200] or response.reason_phrase, None
        raise ApiError(f"HTTP {response.status_code}: {message}", response.status_code, detail)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

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

    def frames(self, campaign_id: int, **filters: Any) -> dict[str, Any]:
        """A page of frames; ``filters``: status, flag, min_deviation, max_deviation,
        iteration, sort, limit, offset (as the REST query parameters)."""
        params = {k: v for k, v in filters.items() if v is not None}
        result: dict[str, Any] = self._request(
            "GET", f"/campaigns/{campaign_id}/frames", params=params
        )
        return result

    def review(
        self, campaign_id: int, frame_id: int, decision: str, reason: str = ""
    ) -> dict[str, Any]:
        """Accept or reject a selected frame."""
        body = {"decision": decision, "reason": reason}
        result: dict[str, Any] = self._request(
            "POST", f"/campaigns/{campaign_id}/frames/{frame_id}/review", json=body
        )
        return result

    def models(self, campaign_id: int) -> list[dict[str, Any]]:
        """Every committee member of every iteration."""
        result: list[dict[str, Any]] = self._request("GET", f"/campaigns/{campaign_id}/models")
        return result

    def validations(self, campaign_id: int) -> list[dict[str, Any]]:
        """Each iteration's committee against experiment: grades and scalar observables."""
        path = f"/campaigns/{campaign_id}/validations"
        result: list[dict[str, Any]] = self._request("GET", path)
        return result

    def upload_dataset(self, path: Path, metadata: dict[str, Any]) -> dict[str, Any]:
        """Upload an extxyz (streamed from disk) with its ``DatasetSpec`` metadata."""
        with path.open("rb") as handle:
            files = {"file": (path.name, handle, "chemical/x-extxyz")}
            result: dict[str, Any] = self._request(
                "POST", "/datasets", data={"metadata": json.dumps(metadata)}, files=files
            )
        return result

    def list_datasets(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """One page of uploaded datasets, newest first."""
        result: dict[str, Any] = self._request(
            "GET", "/datasets", params={"limit": limit, "offset": offset}
        )
        return result

    def create_study(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Submit a study (base spec and variants): one draft campaign per variant and seed."""
        result: dict[str, Any] = self._request("POST", "/studies", json=spec)
        return result

    def start_study(self, study_id: int) -> dict[str, Any]:
        """Start every draft campaign of a study."""
        result: dict[str, Any] = self._request("POST", f"/studies/{study_id}/start")
        return result

    def get_study(self, study_id: int) -> dict[str, Any]:
        """A study with its variants side by side."""
        result: dict[str, Any] = self._request("GET", f"/studies/{study_id}")
        return result

    def study_csv(self, study_id: int) -> str:
        """The comparison table as CSV."""
        return self._send("GET", f"/studies/{study_id}/comparison.csv").text

    def download_model(self, campaign_id: int, version_id: int) -> bytes:
        """The bytes of a member's model file."""
        response = self._http.get(f"/campaigns/{campaign_id}/models/{version_id}/download")
        if not response.is_success:
            raise ApiError(
                f"HTTP {response.status_code}: {response.text[:200]}", response.status_code
            )
        return response.content

    def dataset(self, campaign_id: int) -> str:
        """Every successful label as extxyz text."""
        response = self._http.get(f"/campaigns/{campaign_id}/dataset.extxyz")
        if not response.is_success:
            raise ApiError(
                f"HTTP {response.status_code}: {response.text[:200]}", response.status_code
            )
        return response.text
