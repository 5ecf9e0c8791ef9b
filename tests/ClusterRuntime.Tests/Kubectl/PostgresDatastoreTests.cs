// The server on --datastore-endpoint (PostgreSQL, started by the datastore tests' fixture) serves kubectl the same way.
using Appliance.ClusterRuntime.Tests.Datastore;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Kubectl;

[Trait("Category", "External")]
public sealed class PostgresDatastoreTests(PostgresServerFixture pg) : IClassFixture<PostgresServerFixture>
{
    [Fact]
    public async Task Kubectl_CreateLabelGetDelete_OnPostgres_AndDataSurvivesARestart()
    {
        if (pg.SkipReason is not null) Assert.Skip(pg.SkipReason);
        Support.Kubectl.RequireInstalled();
        var endpoint = await pg.CreateDatabaseAsync();
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var cache = Path.Combine(dir.Path, "cache");
        Directory.CreateDirectory(cache);
        var port = RuntimeProcess.FreePort();
        await using (var server = await RuntimeProcess.StartAsync(data, port, "--datastore-endpoint", endpoint))
        {
            Assert.False(Directory.Exists(Path.Combine(data, "db")), "no SQLite database may be created when PostgreSQL is used");
            var k = new Support.Kubectl(server.KubeconfigPath, cache);
            Assert.Matches(@"(?m)^kube-system\s+Active", (await k.RunAsync("get", "ns")).Ok().Out);
            (await k.RunAsync("create", "configmap", "on-postgres", "--from-literal=a=1")).Ok();
            (await k.RunAsync("label", "cm", "on-postgres", "db=pg")).Ok();
            Assert.Equal(["configmap/on-postgres"], (await k.RunAsync("get", "cm", "-l", "db=pg", "-o", "name")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(15)));
        }
        await using var again = await RuntimeProcess.StartAsync(data, port, "--datastore-endpoint", endpoint);
        var k2 = new Support.Kubectl(again.KubeconfigPath, cache);
        Assert.Equal("pg", (await k2.RunAsync("get", "cm", "on-postgres", "-o", "jsonpath={.metadata.labels.db}")).Ok().Out);
        (await k2.RunAsync("delete", "cm", "on-postgres")).Ok();
        var gone = await k2.RunAsync("get", "cm", "on-postgres");
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("NotFound", gone.Error);
    }
}
