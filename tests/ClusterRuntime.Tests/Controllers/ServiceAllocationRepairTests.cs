// The allocation repair, in process: leaked keys freed after the grace, young ones kept, missing ones restored.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Api.Storage.Services;
using Appliance.ClusterRuntime.Controllers;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Controllers.ServiceAllocation;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Controllers;

public sealed class ServiceAllocationRepairTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Repair_FreesOldLeaks_KeepsYoungClaims_AndRestoresMissingKeys()
    {
        using var dir = new TempDir();
        await using var backend = new SqliteBackend(new SqliteBackendOptions { DataDir = dir.Path });
        await backend.StartAsync(Ct);
        var options = new ControllerOptions();
        var store = new ObjectStore(backend, TimeProvider.System) { Services = new ServiceAllocator(backend, options) };
        await new NamespaceLifecycle(store, NullLogger.Instance).BootstrapAsync(Ct);
        var services = Obj.Resource("", "services");
        var svc = await store.CreateAsync(services, "default", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "web" },
            ["spec"] = new JsonObject { ["type"] = "NodePort", ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
        }, Ct);
        var ipKey = AllocationKeys.Ip(IPAddress.Parse(svc["spec"]!["clusterIP"]!.GetValue<string>()));
        var portKey = AllocationKeys.Port(svc["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>());

        // A crash after claiming (two keys of no Service, one old, one young), and a key lost by a restore.
        var oldLeak = AllocationKeys.Ip(IPAddress.Parse("10.43.0.77"));
        var youngLeak = AllocationKeys.Ip(IPAddress.Parse("10.43.0.78"));
        await backend.CreateAsync(oldLeak, new AllocationOwner("gone", "default", "crashed", DateTimeOffset.UtcNow.AddMinutes(-2)).ToBytes(), 0, Ct);
        await backend.CreateAsync(youngLeak, new AllocationOwner("in-flight", "default", "writing", DateTimeOffset.UtcNow).ToBytes(), 0, Ct);
        await backend.DeleteAsync(ipKey, 0, Ct);

        var logger = NullLogger.Instance;
        var ctx = new ControllerContext(store, new SharedInformers(backend, logger), new EventRecorder(new StoreEventSink(store), store.Clock, "test", logger), options, NullLoggerFactory.Instance);
        await new ServiceAllocationRepair(ctx).RepairOnceAsync(Ct);

        Assert.Null((await backend.GetAsync(oldLeak, 0, Ct)).Kv);
        Assert.NotNull((await backend.GetAsync(youngLeak, 0, Ct)).Kv);
        foreach (var key in new[] { ipKey, portKey })
        {
            var kv = (await backend.GetAsync(key, 0, Ct)).Kv;
            Assert.True(kv is not null, $"{key} not restored");
            Assert.Equal(Obj.Uid(svc), AllocationOwner.Parse(kv.Value)!.Uid);
        }

        // The freed address can be asked for again; the restored one is refused to another Service.
        await store.CreateAsync(services, "default", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "reuse" },
            ["spec"] = new JsonObject { ["clusterIP"] = "10.43.0.77", ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
        }, Ct);
        var clash = await Assert.ThrowsAsync<Appliance.ClusterRuntime.Api.ApiException>(() => store.CreateAsync(services, "default", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "clash" },
            ["spec"] = new JsonObject { ["clusterIP"] = svc["spec"]!["clusterIP"]!.DeepClone(), ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
        }, Ct));
        Assert.Equal(422, clash.Code);
        Assert.Contains("provided IP is already allocated", clash.Message);
    }
}
