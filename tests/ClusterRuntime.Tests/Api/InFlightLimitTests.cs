// Which requests the in-flight limit counts: only real watches are exempt.
using Appliance.ClusterRuntime.Api;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "Unit")]
public sealed class InFlightLimitTests
{
    static HttpRequest Request(string method, string path, string query = "")
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.Method = method;
        ctx.Request.Path = path;
        ctx.Request.QueryString = new QueryString(query);
        return ctx.Request;
    }

    [Theory]
    [InlineData("GET", "/api/v1/pods", "?watch=true", true)]
    [InlineData("GET", "/api/v1/namespaces/a/pods", "?watch=1", true)]
    [InlineData("GET", "/api/v1/watch/pods", "", true)]
    [InlineData("GET", "/apis/apps/v1/watch/namespaces/a/deployments", "", true)]
    [InlineData("GET", "/api/v1/namespaces/watch/configmaps", "", false)]
    [InlineData("GET", "/api/v1/namespaces/a/configmaps/watch", "", false)]
    [InlineData("POST", "/api/v1/namespaces/a/configmaps", "?watch=true", false)]
    [InlineData("PUT", "/api/v1/watch/pods", "", false)]
    [InlineData("GET", "/api/v1/pods", "?watch=false", false)]
    public void OnlyWatchesAreLongRunning(string method, string path, string query, bool expected) =>
        Assert.Equal(expected, InFlightLimit.IsLongRunning(Request(method, path, query)));

    [Fact]
    public void AMutatingRequestThatSaysWatchStillTakesAWriteSlot()
    {
        var limit = new InFlightLimit(maxReads: 1, maxWrites: 1);
        using var first = limit.Enter(Request("POST", "/api/v1/namespaces/watch/configmaps", "?watch=true"));
        Assert.True(first.Admitted);
        using var second = limit.Enter(Request("POST", "/api/v1/namespaces/watch/configmaps", "?watch=true"));
        Assert.False(second.Admitted);
    }
}
