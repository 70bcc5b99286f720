"""Driver errors say what went wrong in plain words: the call, the status, and what the target said."""

from __future__ import annotations

import httpx
import pytest

from launchgate.drivers.errors import ApiError, ContractError, summarize_body
from launchgate.drivers.http import ApiClient, answer

EXPRESS_404 = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n'
               "<body>\n<pre>Cannot GET /metrics</pre>\n</body>\n</html>\n")


def client_answering(status: int, body: str, content_type: str = "application/json") -> ApiClient:
    client = ApiClient("http://127.0.0.1:3001")
    headers = {"content-type": content_type}
    transport = httpx.MockTransport(lambda _req: httpx.Response(status, text=body, headers=headers))
    client._client = httpx.Client(base_url=client.base_url, transport=transport)
    return client


def test_a_500_names_the_call_and_the_targets_own_error() -> None:
    said = "Campaign approval failed: Cannot read properties of undefined (reading 'length')"
    body = '{"success":false,"error":"' + said + '"}'
    with pytest.raises(ApiError) as caught:
        client_answering(500, body).post("/api/email/campaign", json={})
    assert str(caught.value) == ("POST /api/email/campaign answered 500: Campaign approval failed: Cannot read "
                                 "properties of undefined (reading 'length') [http://127.0.0.1:3001]")
    assert caught.value.body == body and not caught.value.route_missing


@pytest.mark.parametrize("body", [EXPRESS_404, '{"success":false,"error":"Route /metrics not found"}',
                                  '{"detail":"Not Found"}'])
def test_a_missing_route_is_called_so(body: str) -> None:
    with pytest.raises(ApiError) as caught:
        client_answering(404, body, "text/html" if body.startswith("<") else "application/json").get("/metrics")
    assert caught.value.route_missing
    assert "answered 404: no such route (" in str(caught.value)


def test_a_missing_record_is_not_a_missing_route() -> None:
    with pytest.raises(ApiError) as caught:
        client = client_answering(404, '{"success":false,"error":"Proposal PROP-1 not found"}')
        client.get("/api/governance/proposals/1")
    assert not caught.value.route_missing
    assert str(caught.value).startswith("GET /api/governance/proposals/1 answered 404: Proposal PROP-1 not found")


def test_a_field_the_target_left_out_is_a_contract_error() -> None:
    campaign = client_answering(200, '{"success":true,"campaign":{"id":"c1"}}').get("/api/email/campaign/c1",
                                                                                 key="campaign")
    assert campaign["id"] == "c1" and campaign.get("status") is None
    with pytest.raises(ContractError, match=r"GET /api/email/campaign/c1 answered 200 with an object that has no "
                                            r"'status' field"):
        campaign["status"]
    with pytest.raises(ContractError, match="without the 'campaign' field"):
        client_answering(200, '{"success":true}').get("/api/email/campaign/c1", key="campaign")
    with pytest.raises(ContractError, match="with a body that is not JSON"):
        client_answering(200, "<html>ok</html>", "text/html").get("/api/email/templates", key="templates")


def test_answer_reads_like_a_sentence() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:3000/api/governance/votes")
    accepted = httpx.Response(201, json={"success": True, "data": {"id": "v1"}}, request=request)
    refused = httpx.Response(400, json={"success": False, "error": "Voter x has already voted"}, request=request)
    assert answer(accepted) == "POST /api/governance/votes answered 201 (accepted, id v1)"
    assert answer(refused) == "POST /api/governance/votes answered 400: Voter x has already voted"


def test_summaries_are_short() -> None:
    assert summarize_body("") == "(empty body)"
    assert summarize_body(EXPRESS_404) == "Cannot GET /metrics"
    assert len(summarize_body("x" * 1000, 50)) == 50
