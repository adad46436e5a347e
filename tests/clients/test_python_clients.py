#!/usr/bin/env python3
"""python3's http.client and urllib.request, and Debian's python3-requests, through the whole
rest_api: CRUD, its error statuses, and keep-alive reuse."""
import http.client
import json
import unittest
import urllib.error
import urllib.request

from common import ExampleTest

try:
    import requests
except ImportError:  # a missing client fails its tests (tools/setup.sh installs it)
    requests = None

BIG = json.dumps({"name": "x" * 5000})  # over rest_api's 4096-byte limit


class HttpClient(ExampleTest):
    example = "rest_api"

    def setUp(self):
        super().setUp()
        self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        self.c.request(method, path, body=body, headers=h)
        r = self.c.getresponse()
        data = r.read()
        return r, data

    def test_crud_on_one_kept_alive_connection(self):
        r, data = self.call("GET", "/items")
        self.assertEqual((r.status, json.loads(data)), (200, []))
        self.assertEqual(r.getheader("Content-Type").split(";")[0], "application/json")

        r, data = self.call("POST", "/items", '{"name": "chair"}')
        self.assertEqual(r.status, 201)
        item = json.loads(data)
        self.assertEqual(item["name"], "chair")
        self.assertEqual(r.getheader("Location"), "/items/%d" % item["id"])
        sock = self.c.sock  # the same socket must carry every request below

        r, data = self.call("GET", r.getheader("Location"))
        self.assertEqual((r.status, json.loads(data)), (200, item))

        r, data = self.call("PUT", "/items/%d" % item["id"], '{"name": "table \\u00e9\\n"}')
        self.assertEqual((r.status, json.loads(data)), (200, {"id": item["id"], "name": "table \u00e9\n"}))

        r, data = self.call("GET", "/items")
        self.assertEqual((r.status, json.loads(data)), (200, [{"id": item["id"], "name": "table \u00e9\n"}]))

        r, data = self.call("DELETE", "/items/%d" % item["id"])
        self.assertEqual((r.status, data), (204, b""))

        for method, body in (("GET", None), ("PUT", '{"name": "a"}'), ("DELETE", None)):
            r, data = self.call(method, "/items/%d" % item["id"], body)
            self.assertEqual(r.status, 404, method)
        self.assertIs(self.c.sock, sock)

    def test_many_requests_reuse_one_connection(self):
        self.call("GET", "/items")
        sock = self.c.sock
        local = sock.getsockname()
        for i in range(50):
            r, data = self.call("POST", "/items", json.dumps({"name": "n%d" % i}))
            self.assertEqual(r.status, 201)
            self.assertFalse(r.will_close)
        self.assertIs(self.c.sock, sock)
        self.assertEqual(self.c.sock.getsockname(), local)
        r, data = self.call("GET", "/items")
        self.assertEqual([i["name"] for i in json.loads(data)], ["n%d" % i for i in range(50)])

    def test_other_methods_are_405_with_allow(self):
        r, _ = self.call("PATCH", "/items/1", '{"name": "a"}')
        self.assertEqual(r.status, 405)
        self.assertEqual({m.strip() for m in r.getheader("Allow").split(",")} - {"HEAD", "OPTIONS"}, {"GET", "PUT", "DELETE"})
        r, _ = self.call("DELETE", "/items")
        self.assertEqual(r.status, 405)
        self.assertEqual({m.strip() for m in r.getheader("Allow").split(",")} - {"HEAD", "OPTIONS"}, {"GET", "POST"})

    def test_bad_bodies_are_400(self):
        for body in ("", "{", '{"name": 1}', "[]", '{"name": "a"} x', '{"name": "\\ud800"}'):
            r, data = self.call("POST", "/items", body)
            self.assertEqual(r.status, 400, body)
            self.assertIn("error", json.loads(data))

    def test_body_over_the_limit_is_413(self):
        # rest_api sets the server's body limit: refused from Content-Length, before the body is read.
        r, data = self.call("POST", "/items", BIG)
        self.assertEqual(r.status, 413)
        self.assertEqual(r.getheader("Connection"), "close")

    def test_unknown_id_shapes_are_404(self):
        for path in ("/items/abc", "/items/1/x", "/nothing"):
            r, _ = self.call("GET", path)
            self.assertEqual(r.status, 404, path)


class Urllib(ExampleTest):
    example = "rest_api"

    def open(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=body.encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()

    def test_crud(self):
        status, headers, data = self.open("POST", "/items", '{"name": "lamp"}')
        self.assertEqual(status, 201)
        item = json.loads(data)
        self.assertEqual(headers["Location"], "/items/%d" % item["id"])
        self.assertEqual(self.open("GET", "/items/%d" % item["id"])[0::2], (200, data))
        status, _, data = self.open("PUT", "/items/%d" % item["id"], '{"name": "desk"}')
        self.assertEqual((status, json.loads(data)["name"]), (200, "desk"))
        self.assertEqual(json.loads(self.open("GET", "/items")[2]), [{"id": item["id"], "name": "desk"}])
        self.assertEqual(self.open("DELETE", "/items/%d" % item["id"])[0::2], (204, b""))
        self.assertEqual(self.open("GET", "/items/%d" % item["id"])[0], 404)
        self.assertEqual(self.open("DELETE", "/items/%d" % item["id"])[0], 404)

    def test_errors(self):
        status, headers, _ = self.open("POST", "/items/1", '{"name": "a"}')
        self.assertEqual(status, 405)
        self.assertIn("PUT", headers["Allow"])
        self.assertEqual(self.open("POST", "/items", "not json")[0], 400)
        self.assertEqual(self.open("POST", "/items", BIG)[0], 413)


class Requests(ExampleTest):
    example = "rest_api"

    def setUp(self):
        self.assertIsNotNone(requests, "python3-requests is missing: run tools/setup.sh --deps-only")
        super().setUp()
        self.s = requests.Session()

    def tearDown(self):
        self.s.close()
        super().tearDown()

    def test_crud(self):
        r = self.s.post(self.base + "/items", json={"name": "sofa \"big\""}, timeout=10)
        self.assertEqual(r.status_code, 201)
        item = r.json()
        self.assertEqual(item["name"], "sofa \"big\"")
        self.assertEqual(r.headers["Location"], "/items/%d" % item["id"])
        url = self.base + r.headers["Location"]
        self.assertEqual(self.s.get(url, timeout=10).json(), item)
        r = self.s.put(url, json={"name": "bench", "colour": "red"}, timeout=10)
        self.assertEqual((r.status_code, r.json()), (200, {"id": item["id"], "name": "bench"}))
        self.assertEqual(self.s.get(self.base + "/items", timeout=10).json(), [{"id": item["id"], "name": "bench"}])
        r = self.s.delete(url, timeout=10)
        self.assertEqual((r.status_code, r.content), (204, b""))
        self.assertEqual(self.s.get(url, timeout=10).status_code, 404)
        self.assertEqual(self.s.put(url, json={"name": "x"}, timeout=10).status_code, 404)

    def test_errors(self):
        r = self.s.patch(self.base + "/items", json={"name": "a"}, timeout=10)
        self.assertEqual(r.status_code, 405)
        self.assertIn("POST", r.headers["Allow"])
        self.assertEqual(self.s.post(self.base + "/items", data=b'{"name": ', timeout=10).status_code, 400)
        self.assertEqual(self.s.post(self.base + "/items", data=BIG, timeout=10).status_code, 413)
        # the session keeps going on after refusals
        self.assertEqual(self.s.get(self.base + "/items", timeout=10).json(), [])


if __name__ == "__main__":
    unittest.main()
