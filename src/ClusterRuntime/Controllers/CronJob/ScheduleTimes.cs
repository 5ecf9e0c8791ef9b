// Which scheduled time a CronJob should run now, and when to look again (upstream's mostRecentScheduleTime).
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.CronJob;

/// <summary>The schedule arithmetic of upstream's CronJob controller.</summary>
static class ScheduleTimes
{
    /// <summary>Past this many missed times the controller warns (TooManyMissedTimes) but still runs the newest.</summary>
    public const int ManyMissed = 100;

    /// <summary>Added to the wait for the next time, so the sync lands after it.</summary>
    public static readonly TimeSpan NextScheduleDelta = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// From the last schedule time (or the creation time), optionally no earlier than startingDeadlineSeconds ago:
    /// the earliest time considered, the most recent scheduled time not after <paramref name="now"/> (null when none)
    /// and roughly how many were missed, estimated from the interval between two times as upstream does.
    /// </summary>
    /// <exception cref="FormatException">Two scheduled times less than a second apart (an impossible schedule).</exception>
    public static (DateTimeOffset Earliest, DateTimeOffset? MostRecent, long Missed) MostRecent(
        JsonObject cronJob, DateTimeOffset now, CronSchedule schedule, bool withStartingDeadline)
    {
        var earliest = Obj.Time(cronJob, "status", "lastScheduleTime") ?? Obj.Time(cronJob, "metadata", "creationTimestamp") ?? now;
        if (withStartingDeadline && Obj.Long(cronJob, "spec", "startingDeadlineSeconds") is long deadline)
        {
            var schedulingDeadline = now - TimeSpan.FromSeconds(deadline);
            if (schedulingDeadline > earliest) earliest = schedulingDeadline;
        }
        if (schedule.Next(earliest) is not { } t1 || now < t1) return (earliest, null, 0);
        if (schedule.Next(t1) is not { } t2 || now < t2) return (earliest, t1, 1);
        var between = (long)Math.Round((t2 - t1).TotalSeconds);
        if (between < 1) throw new FormatException("time difference between two schedules is less than 1 second");
        var missed = (long)(now - t1).TotalSeconds / between + 1;
        DateTimeOffset? mostRecent = null;
        var potentialEarliest = t1 + TimeSpan.FromSeconds((missed - 2) * between);
        for (var t = schedule.Next(potentialEarliest); t is { } x && x <= now; t = schedule.Next(x)) mostRecent = x;
        return (earliest, mostRecent, missed);
    }

    /// <summary>How long until the sync after the next scheduled time.</summary>
    public static TimeSpan UntilNext(JsonObject cronJob, DateTimeOffset now, CronSchedule schedule)
    {
        try
        {
            var (earliest, mostRecent, _) = MostRecent(cronJob, now, schedule, withStartingDeadline: false);
            return schedule.Next(mostRecent ?? earliest) is { } next ? next + NextScheduleDelta - now : TimeSpan.FromHours(1);
        }
        catch (FormatException)
        {
            return TimeSpan.FromHours(1);
        }
    }

    /// <summary>The Job name for a scheduled time: CRONJOB-MINUTES-SINCE-EPOCH.</summary>
    public static string JobName(JsonObject cronJob, DateTimeOffset scheduled) => $"{Meta.Name(cronJob)}-{scheduled.ToUnixTimeSeconds() / 60}";

    /// <summary>RFC 3339 as Go prints a time in a zone ("Z" at offset zero).</summary>
    public static string Rfc3339(DateTimeOffset t) =>
        t.Offset == TimeSpan.Zero ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)
        : t.ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
}
