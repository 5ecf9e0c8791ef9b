// Client mistakes get the right 4xx Status, never 500: bad bytes, duplicate keys, odd patches, big chunked bodies, bad watch options.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class ClientErrorTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    Task<HttpClient> NamespaceAsync(string ns) => fx.NamespaceClientAsync(ns, Ct);

    static ByteArrayContent Raw(byte[] bytes, string mediaType = "application/json")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    static async Task<JsonObject> Expect(HttpResponseMessage r, int code, string reason)
    {
        // A watch that should have been refused would stream forever: give the body 10 s.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        var body = await r.Content.ReadAsStringAsync(cts.Token);
        Assert.True((int)r.StatusCode == code, $"expected {code}, got {(int)r.StatusCode}: {body}");
        var s = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("Status", s["kind"]!.GetValue<string>());
        Assert.Equal(reason, s["reason"]!.GetValue<string>());
        Assert.Equal(code, s["code"]!.GetValue<int>());
        return s;
    }

    [Fact]
    public async Task InvalidUtf8_AndDuplicateKeys_Are400()
    {
        using var http = await NamespaceAsync("err-bytes");
        var utf8 = Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"data":{"k":"X"}}""");
        utf8[Array.IndexOf(utf8, (byte)'X')] = 0xff;
        var s = await Expect(await http.PostAsync("/api/v1/namespaces/err-bytes/configmaps", Raw(utf8), Ct), 400, "BadRequest");
        Assert.Contains("UTF-8", s["message"]!.GetValue<string>());

        // Duplicate keys are a 400 under fieldValidation=Strict (the server's default, Warn, keeps the last: FieldValidationTests).
        var dup = Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"data":{"k":"1","k":"2"}}""");
        s = await Expect(await http.PostAsync("/api/v1/namespaces/err-bytes/configmaps?fieldValidation=Strict", Raw(dup), Ct), 400, "BadRequest");
        Assert.Contains("duplicate", s["message"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/err-bytes/configmaps", Json.Body(Json.ConfigMap("p")), Ct)).StatusCode);
        await Expect(await http.PatchAsync("/api/v1/namespaces/err-bytes/configmaps/p?fieldValidation=Strict", Raw(dup, "application/merge-patch+json"), Ct), 400, "BadRequest");
        await Expect(await http.PatchAsync("/api/v1/namespaces/err-bytes/configmaps/p", Raw(utf8, "application/strategic-merge-patch+json"), Ct), 400, "BadRequest");
        await Expect(await http.PatchAsync("/api/v1/namespaces/err-bytes/configmaps/p",
            Raw(Encoding.UTF8.GetBytes("""[{"op":"add","path":"/data","value":{"a":"1","a":"2"}}]"""), "application/json-patch+json"), Ct), 400, "BadRequest");
    }

    [Fact]
    public async Task ResourceVersionAsNumber_Is422_AndDeleteOptionsWithWrongTypes_Are4xx()
    {
        using var http = await NamespaceAsync("err-rv");
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/err-rv/configmaps", Json.Body(Json.ConfigMap("c")), Ct)).StatusCode);
        var put = Json.ConfigMap("c");
        put["metadata"]!["resourceVersion"] = 5;
        var s = await Expect(await http.PutAsync("/api/v1/namespaces/err-rv/configmaps/c", Json.Body(put), Ct), 422, "Invalid");
        Assert.Contains("metadata.resourceVersion", s["message"]!.GetValue<string>());
        await Expect(await http.PostAsync("/api/v1/namespaces/err-rv/configmaps", Json.Body(put), Ct), 422, "Invalid");

        var delete = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/namespaces/err-rv/configmaps/c")
        {
            Content = Json.Body(new JsonObject { ["kind"] = "DeleteOptions", ["apiVersion"] = "v1", ["preconditions"] = new JsonObject { ["uid"] = 7 } }),
        };
        await Expect(await http.SendAsync(delete, Ct), 422, "Invalid");
    }

    [Fact]
    public async Task StrategicDeleteAtTheTop_AndNonStringDirectives_Are4xx()
    {
        using var http = await NamespaceAsync("err-smp");
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/err-smp/configmaps", Json.Body(Json.ConfigMap("c")), Ct)).StatusCode);
        const string smp = "application/strategic-merge-patch+json";
        await Expect(await http.PatchAsync("/api/v1/namespaces/err-smp/configmaps/c", Json.Body(new JsonObject { ["$patch"] = "delete" }, smp), Ct), 422, "Invalid");
        await Expect(await http.PatchAsync("/api/v1/namespaces/err-smp/configmaps/c", Json.Body(new JsonObject { ["$patch"] = 1 }, smp), Ct), 400, "BadRequest");
        await Expect(await http.PatchAsync("/api/v1/namespaces/err-smp/configmaps/c", Json.Body(new JsonObject { ["data"] = new JsonObject { ["$retainKeys"] = new JsonArray(1) } }, smp), Ct), 400, "BadRequest");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/namespaces/err-smp/configmaps/c", Ct)).StatusCode);
    }

    [Fact]
    public async Task StreamedBodyOverTheLimit_Is413_LikeOneWithContentLength()
    {
        // HTTP/2, so the client reads the early 413 while still sending (over HTTP/1.1 the server closes the
        // connection after it, as Go's server does, and the client may only see the broken pipe). A body without a
        // Content-Length is what HTTP/1.1 sends chunked; Kestrel's body-size limit stops both the same way.
        using var http = await NamespaceAsync("err-size");
        HttpRequestMessage Post(HttpContent content) => new(HttpMethod.Post, "/api/v1/namespaces/err-size/configmaps")
        {
            Content = content, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var big = new byte[4 * 1024 * 1024];
        Array.Fill(big, (byte)' ');
        big[0] = (byte)'{';
        big[^1] = (byte)'}';
        await Expect(await http.SendAsync(Post(Raw(big)), Ct), 413, "RequestEntityTooLarge");

        var streamed = new UnsizedContent(big);
        streamed.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = Post(streamed);
        Assert.Null(streamed.Headers.ContentLength);
        await Expect(await http.SendAsync(request, Ct), 413, "RequestEntityTooLarge");
    }

    [Fact]
    public async Task JsonPatchNestingPastTheLimit_Is422()
    {
        // ControllerRevision.data is free-form (runtime.RawExtension), so deep nesting there is kept, up to the limit;
        // a field the type does not declare would be dropped by field validation before its depth counts.
        using var http = await NamespaceAsync("err-deep");
        const string url = "/apis/apps/v1/namespaces/err-deep/controllerrevisions";
        var revision = new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ControllerRevision", ["metadata"] = new JsonObject { ["name"] = "c" }, ["revision"] = 1 };
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync(url, Json.Body(revision), Ct)).StatusCode);
        JsonNode Nest(int depth)
        {
            JsonNode n = "leaf";
            for (int i = 0; i < depth; i++) n = new JsonObject { ["a"] = n };
            return n;
        }
        var ops = new JsonArray(
            new JsonObject { ["op"] = "add", ["path"] = "/data", ["value"] = Nest(50) },
            new JsonObject { ["op"] = "add", ["path"] = "/data" + string.Concat(Enumerable.Repeat("/a", 49)) + "/b", ["value"] = Nest(50) });
        var s = await Expect(await http.PatchAsync(url + "/c", Json.Body(ops, "application/json-patch+json"), Ct), 422, "Invalid");
        Assert.Contains("nest", s["message"]!.GetValue<string>());
        // Within the limit is fine; one op on top of the stored object past it is not.
        var merge = new JsonObject { ["data"] = Nest(50) };
        Assert.Equal(HttpStatusCode.OK, (await http.PatchAsync(url + "/c", Json.Body(merge, "application/merge-patch+json"), Ct)).StatusCode);
        await Expect(await http.PatchAsync(url + "/c", Json.Body(new JsonArray(ops[1]!.DeepClone()), "application/json-patch+json"), Ct), 422, "Invalid");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(url + "?fieldSelector=metadata.name%3Dc", Ct)).StatusCode);
    }

    [Fact]
    public async Task WatchFromAFutureResourceVersion_GetsTooLargeResourceVersionError()
    {
        using var http = await NamespaceAsync("err-watch");
        var list = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/err-watch/configmaps", Ct));
        var current = long.Parse(list["metadata"]!["resourceVersion"]!.GetValue<string>());
        var future = current + 1_000_000;
        using var response = await http.GetAsync($"/api/v1/namespaces/err-watch/configmaps?watch=1&resourceVersion={future}&timeoutSeconds=30", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        var line = await reader.ReadLineAsync(cts.Token);
        var ev = JsonNode.Parse(line!)!;
        Assert.Equal("ERROR", ev["type"]!.GetValue<string>());
        Assert.Equal(504, ev["object"]!["code"]!.GetValue<int>());
        Assert.Equal("Timeout", ev["object"]!["reason"]!.GetValue<string>());
        Assert.StartsWith($"Too large resource version: {future}, current: ", ev["object"]!["message"]!.GetValue<string>());
        Assert.Equal("ResourceVersionTooLarge", ev["object"]!["details"]!["causes"]![0]!["reason"]!.GetValue<string>());
        Assert.Null(await reader.ReadLineAsync(cts.Token));
    }

    [Fact]
    public async Task TimeoutSeconds_NegativeOrNotANumber_Is400()
    {
        using var http = await NamespaceAsync("err-timeout");
        foreach (var value in new[] { "-1", "abc", "1.5" })
        {
            await Expect(await http.GetAsync($"/api/v1/namespaces/err-timeout/configmaps?watch=1&timeoutSeconds={value}", HttpCompletionOption.ResponseHeadersRead, Ct), 400, "BadRequest");
            await Expect(await http.GetAsync($"/api/v1/namespaces/err-timeout/configmaps?timeoutSeconds={value}", Ct), 400, "BadRequest");
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/namespaces/err-timeout/configmaps?timeoutSeconds=0", Ct)).StatusCode);
    }

    /// <summary>A body sent without a Content-Length, in 64 KiB pieces.</summary>
    sealed class UnsizedContent(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (int at = 0; at < bytes.Length; at += 65536)
                await stream.WriteAsync(bytes.AsMemory(at, Math.Min(65536, bytes.Length - at)));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
