// A CronJob schedule: standard five-field cron, the @ macros and @every, in a time zone (parsed with Cronos).
using Cronos;

namespace Appliance.ClusterRuntime.Controllers.CronJob;

/// <summary>
/// What upstream parses with robfig/cron's <c>ParseStandard</c>: five fields (minute hour day-of-month month
/// day-of-week), <c>@yearly</c>/<c>@annually</c>, <c>@monthly</c>, <c>@weekly</c>, <c>@daily</c>/<c>@midnight</c>,
/// <c>@hourly</c>, and <c>@every DURATION</c>. <see cref="Next"/> gives the first time strictly after a time.
/// </summary>
public sealed class CronSchedule
{
    readonly CronExpression? _cron;
    readonly TimeSpan _every;
    readonly TimeZoneInfo _zone;

    CronSchedule(CronExpression? cron, TimeSpan every, TimeZoneInfo zone)
    {
        _cron = cron;
        _every = every;
        _zone = zone;
    }

    /// <summary>Parses <paramref name="schedule"/> for <paramref name="zone"/> (UTC when null).</summary>
    /// <exception cref="FormatException">The schedule does not parse; the message says why, as upstream's parser does.</exception>
    public static CronSchedule Parse(string schedule, TimeZoneInfo? zone = null)
    {
        zone ??= TimeZoneInfo.Utc;
        var text = schedule.Trim();
        if (text.Length == 0) throw new FormatException("empty spec string");
        if (text.StartsWith("@every ", StringComparison.Ordinal))
        {
            var every = ParseDuration(text["@every ".Length..].Trim());
            return new CronSchedule(null, every < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : every, zone);
        }
        if (text.StartsWith('@'))
        {
            var expanded = text switch
            {
                "@yearly" or "@annually" => "0 0 1 1 *",
                "@monthly" => "0 0 1 * *",
                "@weekly" => "0 0 * * 0",
                "@daily" or "@midnight" => "0 0 * * *",
                "@hourly" => "0 * * * *",
                _ => throw new FormatException($"unrecognized descriptor: {text}"),
            };
            return new CronSchedule(CronExpression.Parse(expanded), TimeSpan.Zero, zone);
        }
        var fields = text.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
            throw new FormatException($"expected exactly 5 fields, found {fields.Length}: [{string.Join(' ', fields)}]");
        try
        {
            return new CronSchedule(CronExpression.Parse(string.Join(' ', fields), CronFormat.Standard), TimeSpan.Zero, zone);
        }
        catch (CronFormatException e)
        {
            throw new FormatException(e.Message, e);
        }
    }

    /// <summary>The time zone of an IANA name as Go's <c>time.LoadLocation</c> finds it ("" is UTC).</summary>
    /// <exception cref="FormatException">"unknown time zone NAME".</exception>
    public static TimeZoneInfo Zone(string? name)
    {
        if (string.IsNullOrEmpty(name) || name == "UTC") return TimeZoneInfo.Utc;
        try { return TimeZoneInfo.FindSystemTimeZoneById(name); }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new FormatException("unknown time zone " + name);
        }
    }

    /// <summary>The first scheduled time strictly after <paramref name="after"/> (whole seconds), or null if none.</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        var from = new DateTimeOffset(after.UtcTicks - after.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        if (_cron is null) return from + _every;
        var next = _cron.GetNextOccurrence(from.UtcDateTime, _zone, inclusive: false);
        return next is { } n ? new DateTimeOffset(DateTime.SpecifyKind(n, DateTimeKind.Utc)) : null;
    }

    /// <summary>The time <paramref name="t"/> as seen in the schedule's zone.</summary>
    public DateTimeOffset InZone(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, _zone);

    static TimeSpan ParseDuration(string text) =>
        Server.Duration.TryParse(text, out var d) ? TimeSpan.FromSeconds(Math.Floor(d.TotalSeconds))
        : throw new FormatException($"failed to parse duration @every {text}: time: invalid duration \"{text}\"");
}
