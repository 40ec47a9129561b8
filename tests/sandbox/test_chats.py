"""Chat rooms and chats: inbound when the enduser sent it; the room's message cache."""

from __future__ import annotations

import httpx

from sandbox.seed import DR_RIVERA_ID


def test_chat_from_the_team_and_from_the_patient(api: httpx.Client, enduser) -> None:
    room = api.post(
        "/v1/chat-room",
        json={"userIds": [DR_RIVERA_ID, DR_RIVERA_ID], "enduserIds": [enduser["id"]]},
    ).json()
    assert (room["userIds"], room["numMessages"], room["type"]) == ([DR_RIVERA_ID], 0, "internal")
    outbound = api.post("/v1/chat", json={"roomId": room["id"], "message": "How are you?"}).json()
    assert outbound["senderId"] == "64f000000000000000000a00" and "enduserId" not in outbound
    inbound = api.post(
        "/v1/chat", json={"roomId": room["id"], "message": "Fine!", "senderId": enduser["id"]}
    ).json()
    assert inbound["enduserId"] == enduser["id"]
    cached = api.get(f"/v1/chat-room/{room['id']}").json()
    assert (cached["numMessages"], cached["recentMessage"], cached["recentSender"]) == (
        2,
        "Fine!",
        enduser["id"],
    )
    assert cached["recentEnduserMessage"] == "Fine!"
    unknown_room = api.post("/v1/chat", json={"roomId": "60398b0231a295e64f084fd9", "message": "x"})
    assert unknown_room.status_code == 400
    moved = api.patch(f"/v1/chat/{outbound['id']}", json={"updates": {"roomId": room["id"]}})
    assert moved.json()["message"] == "Error parsing field updates: roomId is not valid for updates"


def test_patient_chat_helper_uses_or_opens_a_room(api: httpx.Client, helpers, enduser) -> None:
    first = helpers.post(
        "/sandbox/patient/chat", json={"enduserId": enduser["id"], "message": "Hello?"}
    ).json()["chat"]
    second = helpers.post(
        "/sandbox/patient/chat", json={"enduserId": enduser["id"], "message": "Anyone?"}
    ).json()["chat"]
    assert first["roomId"] == second["roomId"]
    assert first["senderId"] == enduser["id"] == first["enduserId"]
    room = api.get(f"/v1/chat-room/{first['roomId']}").json()
    assert room["enduserIds"] == [enduser["id"]] and room["numMessages"] == 2
