// Cron job records: encoding, keys, names, and jobs from container labels.
#define BOOST_TEST_MODULE runtime_cron_job
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

#include "runtime/cron_job.h"

using namespace strata::runtime;

BOOST_AUTO_TEST_CASE(job_round_trip) {
  CronJob job;
  job.name = "backup";
  job.schedule = "0 3 * * *";
  job.tz = "Europe/Paris";
  job.container = "db";
  job.cmd = {"sh", "-c", "pg_dump > /backup/db.sql"};
  job.timeout = 600;
  job.overlap = CronOverlap::kAllow;
  job.catch_up = true;
  job.owner = "abc";
  job.created = "2026-11-28T17:00:00.000000000Z";
  job.last_scheduled = 1795887723;
  job.next_seq = 42;
  auto back = DecodeCronJob(EncodeCronJob(job));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->name == job.name);
  BOOST_TEST(back->schedule == job.schedule);
  BOOST_TEST(back->tz == job.tz);
  BOOST_TEST(back->container == job.container);
  BOOST_TEST(back->image.empty());
  BOOST_TEST(back->cmd == job.cmd);
  BOOST_TEST(back->timeout == 600);
  BOOST_TEST((back->overlap == CronOverlap::kAllow));
  BOOST_TEST(back->catch_up);
  BOOST_TEST(back->owner == "abc");
  BOOST_TEST(back->created == job.created);
  BOOST_TEST(back->last_scheduled == job.last_scheduled);
  BOOST_TEST(back->next_seq == 42u);

  BOOST_TEST(!DecodeCronJob("not json").ok());
  BOOST_TEST(!DecodeCronJob("{}").ok());  // no name
  // Missing fields read as their defaults.
  auto minimal = DecodeCronJob(R"({"name":"x"})");
  BOOST_REQUIRE(minimal.ok());
  BOOST_TEST(minimal->next_seq == 1u);
  BOOST_TEST((minimal->overlap == CronOverlap::kSkip));
}

BOOST_AUTO_TEST_CASE(run_round_trip) {
  CronRun run;
  run.seq = 7;
  run.scheduled = 100;
  run.started = 100.25;
  run.duration = 1.5;
  run.result = CronResult::kTimedOut;
  run.exit_code = -1;
  run.message = "timed out after 1 s: killed";
  run.output = "started\n";
  run.output_truncated = true;
  auto back = DecodeCronRun(EncodeCronRun(run));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->seq == 7u);
  BOOST_TEST(back->started == 100.25);
  BOOST_TEST(back->duration == 1.5);
  BOOST_TEST((back->result == CronResult::kTimedOut));
  BOOST_TEST(back->exit_code == -1);
  BOOST_TEST(back->message == run.message);
  BOOST_TEST(back->output == run.output);
  BOOST_TEST(back->output_truncated);
  BOOST_TEST(!DecodeCronRun(R"({"result":"maybe"})").ok());
  for (auto r :
       {CronResult::kSucceeded, CronResult::kFailed, CronResult::kSkipped, CronResult::kTimedOut}) {
    BOOST_TEST((ParseCronResult(CronResultName(r)).value() == r));
  }
}

BOOST_AUTO_TEST_CASE(keys_order_runs_and_separate_jobs) {
  // A job's runs sort by sequence number and share a prefix no other
  // job's runs have (even a job whose name extends this one's).
  BOOST_TEST(CronRunKey("a", 2) < CronRunKey("a", 10));
  BOOST_TEST(CronRunKey("a", 255) < CronRunKey("a", 256));
  BOOST_TEST(CronRunKey("a", 1).rfind(CronRunPrefix("a"), 0) == 0u);
  BOOST_TEST(CronRunKey("ab", 1).rfind(CronRunPrefix("a"), 0) != 0u);
  BOOST_TEST(CronJobKey("a").rfind(std::string(kCronJobPrefix), 0) == 0u);
  BOOST_TEST(CronRunKey("a", 1).rfind(std::string(kCronJobPrefix), 0) != 0u);
}

BOOST_AUTO_TEST_CASE(names_and_overlap) {
  BOOST_TEST(ValidateCronJobName("backup.db-1_x").ok());
  for (const char* bad : {"", ".x", "-x", "a b", "a/b", "é"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ValidateCronJobName(bad).ok()); }
  }
  BOOST_TEST(!ValidateCronJobName(std::string(129, 'a')).ok());
  BOOST_TEST((ParseCronOverlap("").value() == CronOverlap::kSkip));
  BOOST_TEST((ParseCronOverlap("allow").value() == CronOverlap::kAllow));
  BOOST_TEST(!ParseCronOverlap("queue").ok());
}

BOOST_AUTO_TEST_CASE(jobs_from_labels) {
  std::map<std::string, std::string> labels{
      {"strata.cron.rotate.schedule", "0 3 * * *"},
      {"strata.cron.rotate.command", "logrotate /etc/logrotate.conf"},
      {"strata.cron.ping.schedule", "@every 30s"},
      {"strata.cron.ping.command", "wget -q -O- localhost"},
      {"strata.cron.ping.timeout", "5"},
      {"strata.cron.ping.overlap", "allow"},
      {"other.label", "x"},
  };
  auto jobs = CronJobsFromLabels("web", "id1", labels);
  BOOST_REQUIRE(jobs.ok());
  BOOST_REQUIRE(jobs->size() == 2u);
  const CronJob& ping = (*jobs)[0];
  BOOST_TEST(ping.name == "web.ping");
  BOOST_TEST(ping.container == "web");
  BOOST_TEST(ping.owner == "id1");
  BOOST_TEST(ping.timeout == 5);
  BOOST_TEST((ping.overlap == CronOverlap::kAllow));
  BOOST_TEST((ping.cmd == std::vector<std::string>{"/bin/sh", "-c", "wget -q -O- localhost"}));
  BOOST_TEST((*jobs)[1].name == "web.rotate");
  BOOST_TEST((*jobs)[1].schedule == "0 3 * * *");

  auto error = [](std::map<std::string, std::string> l) {
    auto r = CronJobsFromLabels("web", "id1", l);
    return r.ok() ? std::string() : r.error().message();
  };
  BOOST_TEST(error({{"strata.cron.x.schedule", "@daily"}}) ==
             "label strata.cron.x.command is missing");
  BOOST_TEST(error({{"strata.cron.x.command", "true"}}) ==
             "label strata.cron.x.schedule is missing");
  BOOST_TEST(error({{"strata.cron.x.schedule", "every day"}, {"strata.cron.x.command", "true"}})
                 .find("label strata.cron.x.schedule: invalid schedule \"every day\"") == 0u);
  BOOST_TEST(error({{"strata.cron.x.schedule", "@daily"},
                    {"strata.cron.x.command", "true"},
                    {"strata.cron.x.timeout", "soon"}})
                 .find("timeout") != std::string::npos);
  BOOST_TEST(error({{"strata.cron.x.schedule", "@daily"},
                    {"strata.cron.x.command", "true"},
                    {"strata.cron.x.color", "red"}})
                 .find("unknown field") != std::string::npos);
  BOOST_TEST(error({{"strata.cron.schedule", "@daily"}}).find("expected") != std::string::npos);
  BOOST_TEST(CronJobsFromLabels("web", "id1", {}).value().empty());
}
