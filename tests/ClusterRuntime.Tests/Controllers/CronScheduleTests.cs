// Unit tests of the CronJob schedule arithmetic and the Indexed Job index set.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.CronJob;
using Appliance.ClusterRuntime.Controllers.Job;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "Unit")]
public sealed class CronScheduleTests
{
    static DateTimeOffset T(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("*/1 * * * *", "2026-01-01T10:00:30Z", "2026-01-01T10:01:00Z")]
    [InlineData("*/1 * * * *", "2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z")]
    [InlineData("@hourly", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")]
    [InlineData("@daily", "2026-01-01T10:00:00Z", "2026-01-02T00:00:00Z")]
    [InlineData("@every 90s", "2026-01-01T10:00:00.700Z", "2026-01-01T10:01:30Z")]
    [InlineData("30 6 * * 7", "2026-01-01T10:00:00Z", "2026-01-04T06:30:00Z")]
    public void Next_IsTheFirstTimeStrictlyAfter(string schedule, string after, string expected) =>
        Assert.Equal(T(expected), CronSchedule.Parse(schedule).Next(T(after)));

    [Fact]
    public void Next_FollowsTheTimeZone()
    {
        var berlin = CronSchedule.Zone("Europe/Berlin");
        Assert.Equal(T("2026-01-01T23:00:00Z"), CronSchedule.Parse("@daily", berlin).Next(T("2026-01-01T12:00:00Z")));
    }

    [Theory]
    [InlineData("not a schedule", "expected exactly 5 fields, found 3: [not a schedule]")]
    [InlineData("@fortnightly", "unrecognized descriptor: @fortnightly")]
    public void Parse_RefusesWithUpstreamWording(string schedule, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => CronSchedule.Parse(schedule)).Message);

    [Fact]
    public void Zone_UnknownName_IsRefused() =>
        Assert.Equal("unknown time zone Mars/Olympus", Assert.Throws<FormatException>(() => CronSchedule.Zone("Mars/Olympus")).Message);

    [Fact]
    public void MostRecent_GivesTheNewestMissedTime_AndCountsMisses()
    {
        var cronJob = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "cj", ["creationTimestamp"] = "2026-01-01T10:00:00Z" } };
        var schedule = CronSchedule.Parse("*/1 * * * *");
        var (_, none, _) = ScheduleTimes.MostRecent(cronJob, T("2026-01-01T10:00:59Z"), schedule, true);
        Assert.Null(none);
        var (_, recent, missed) = ScheduleTimes.MostRecent(cronJob, T("2026-01-01T12:30:10Z"), schedule, true);
        Assert.Equal(T("2026-01-01T12:30:00Z"), recent);
        Assert.True(missed > ScheduleTimes.ManyMissed, $"150 minutes missed, counted {missed}");
        cronJob["spec"] = JsonNode.Parse("""{"startingDeadlineSeconds": 200}""");
        var (_, withDeadline, fewer) = ScheduleTimes.MostRecent(cronJob, T("2026-01-01T12:30:10Z"), schedule, true);
        Assert.Equal(T("2026-01-01T12:30:00Z"), withDeadline);
        Assert.True(fewer <= 4, $"only the last 200 s count; counted {fewer}");
        Assert.Equal("cj-29454510", ScheduleTimes.JobName(cronJob, T("2026-01-01T12:30:00Z")));
    }

    [Fact]
    public void IndexSet_ParsesAndPrintsIntervals()
    {
        var set = IndexSet.Parse("0-2,5,7-8,12", 10);
        Assert.Equal(6, set.Count);
        Assert.Equal("0-2,5,7-8", set.ToString());
        set.Add(6);
        Assert.Equal("0-2,5-8", set.ToString());
        Assert.Null(IndexSet.Parse(null, 3).ToString());
    }
}
